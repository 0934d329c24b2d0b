"""The per-stream hash chain: canonical encoding of events and its verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

GENESIS = "0" * 64
# `seal` is the server's HMAC over (stream, version, hash), added when the event is stored (council/infra/keyring.py)
BASE_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "prev_hash", "hash", "seal"})


def canonical(value: Any) -> Any:
    """Reduce a value to JSON primitives the same way before storing and after reloading."""
    if isinstance(value, Enum):
        return canonical(value.value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    raise TypeError(f"no canonical form for {type(value).__name__}")


def event_hash(
    stream: UUID, version: int, topic: str, time: datetime, payload: Mapping[str, Any], prev_hash: str
) -> str:
    """sha256 over the canonical JSON of (stream, version, type, time, payload, prev_hash)."""
    document = [str(stream), version, topic, time.isoformat(), canonical(payload), prev_hash]
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _reduced(obj: dict[str, Any]) -> Any:
    """json's object_hook: a transcoded `{"_type_", "_data_"}` as `canonical` sees the value it decodes to (its
    data; a `uuid_hex` as the UUID with hyphens). Called innermost first, so nested values are reduced already."""
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        if obj["_type_"] == "uuid_hex":
            return str(UUID(hex=obj["_data_"]))
        return obj["_data_"]
    return obj


def load_plain(stored_state: bytes | str) -> dict[str, Any]:
    """An event's stored JSON state, its transcoded values reduced to what `canonical` makes of the domain values
    (council/archive_verifier.py's `plain` does the same)."""
    text = stored_state.decode("utf-8") if isinstance(stored_state, bytes) else stored_state
    return _DECODER.decode(text)  # type: ignore[no-any-return]


_DECODER = json.JSONDecoder(object_hook=_reduced)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # event_hash's encoding
STORED_ONLY = BASE_FIELDS | {"class_version"}
_UNHASHED = tuple(STORED_ONLY - {"hash", "timestamp", "prev_hash", "seal"})  # `hash_stored` takes those four out


def stored_hash(stream: str, version: int, topic: str, state: Mapping[str, Any]) -> str | None:
    """The hash of an event computed from its stored state (as `load_plain` gives it; `stream` as a lower-case
    UUID with hyphens) without decoding it to a domain object; None when the state lacks what a hash covers.
    Equal to `recompute` of the decoded event for every event the council stores; where it is not, callers decode
    the event and use `recompute`."""
    try:
        time, prev_hash = state["timestamp"], state["prev_hash"]
    except (KeyError, TypeError):
        return None
    payload = {k: v for k, v in state.items() if k not in STORED_ONLY}
    document = [stream, version, topic, time, payload, prev_hash]
    return hashlib.sha256(_ENCODER.encode(document).encode("utf-8")).hexdigest()


# What `hash_stored` finds: (the hash recomputed, the stored `hash`, `prev_hash`, `seal`, the payload hashed).
Found = tuple[str, Any, Any, Any, dict[str, Any]]
# A stored event as verify reads it: (position, stream as a lower-case UUID with hyphens, version, stored topic, state)
StoredRow = tuple[int, str, int, str, bytes]
# What `hash_rows` finds of an event: (hash, prev_hash, seal, Merkle leaf, state less what the hash does not cover,
# for a first version only, else None).
Hashed = tuple[str, Any, Any, bytes, dict[str, Any] | None]
Loads = Callable[[bytes | str], Any]
Dumps = Callable[[Any], bytes]


def json_loads(stored_state: bytes | str) -> Any:
    """The standard library's reading of a stored state for `hash_stored` (UTF-8, as `load_plain` reads it)."""
    return json.loads(stored_state.decode("utf-8") if isinstance(stored_state, bytes) else stored_state)


def json_dumps(document: Any) -> bytes:
    """`event_hash`'s encoding: UTF-8 JSON, keys sorted, no whitespace, non-ASCII kept."""
    return _ENCODER.encode(document).encode("utf-8")


class _Unsure(Exception):
    """The codec may have read the stored JSON otherwise than `load_plain` would."""


def _plain(value: Any) -> Any:
    """`load_plain`'s reduction (`_reduced`, innermost first) of a dict or list the codec decoded; a transcoded
    value whose data is a string (a time, a decimal) is reduced in place, without a call. Raises _Unsure at a
    float: orjson reads an integer beyond 64 bits as one where json keeps the int (no event stores a float)."""
    for key, item in value.items() if type(value) is dict else enumerate(value):
        kind = type(item)
        if kind is dict:
            if len(item) == 2 and type(item.get("_data_")) is str and "_type_" in item:
                value[key] = item["_data_"] if item["_type_"] != "uuid_hex" else str(UUID(hex=item["_data_"]))
            elif item:
                value[key] = _plain(item)
        elif kind is list:
            if item:
                value[key] = _plain(item)
        elif kind is float:
            raise _Unsure
    if type(value) is dict and len(value) == 2 and "_type_" in value and "_data_" in value:
        return _reduced(value)
    return value


def hash_stored(stream: str, version: int, topic: str, stored_state: bytes | str, loads: Loads = json_loads,
                dumps: Dumps = json_dumps) -> Found | None:
    """`stored_hash(stream, version, topic, load_plain(stored_state))` by a faster codec (verify computes one per
    event of the log; json's decoder and encoder were two thirds of that; the council passes orjson's), as (that
    hash, the state's `hash`, `prev_hash` and `seal`, the rest of the state: the payload hashed). `loads` must read
    JSON as json does, or fail, or give a float; `dumps` must write `event_hash`'s encoding of a float-free
    document, or fail. None where they cannot tell (a float, NaN, a lone surrogate, no timestamp, ...), for the
    caller to use `load_plain` and `stored_hash`.

    When the hash is the stored one, it is exactly what `stored_hash` gives: the bytes hashed are then the bytes
    the writer hashed, which read back as the state read here, which json writes as those bytes again."""
    try:
        state = loads(stored_state)
        if type(state) is not dict or type(state := _plain(state)) is not dict:
            return None
        pop = state.pop
        stored, time, prev_hash, seal = pop("hash", None), pop("timestamp"), pop("prev_hash"), pop("seal", None)
        for name in _UNHASHED:
            pop(name, None)
        digest = hashlib.sha256(dumps([stream, version, topic, time, state, prev_hash])).hexdigest()
    except Exception:  # _Unsure, a missing field, what the codec or `_reduced` refuse: the caller's exact way decides
        return None
    return digest, stored, prev_hash, seal, state


def hash_rows(rows: Iterable[StoredRow], topics: Mapping[str, str], leaf: Callable[[int, str, int, str], bytes],
              loads: Loads = json_loads, dumps: Dumps = json_dumps) -> list[Hashed | None]:
    """`hash_stored` of each row (`topics` maps a stored topic to the TOPIC the hash covers), with the `leaf` of
    the event, where it gives the hash the event carries; None for the others, which the caller checks the exact
    way. Nothing in it depends on other rows, so verify hashes parts of the log in a second process."""
    found: list[Hashed | None] = []
    for position, stream, version, topic, state in rows:
        fast = hash_stored(stream, version, topics[topic], state, loads, dumps)
        if fast is None or fast[0] != fast[1]:
            found.append(None)
        else:
            digest, _stored, prev_hash, seal, payload = fast
            found.append((digest, prev_hash, seal, leaf(position, stream, version, digest),
                          payload if version == 1 else None))
    return found


def payload_of(event: Any) -> dict[str, Any]:
    return {k: v for k, v in event.__dict__.items() if k not in BASE_FIELDS}


def recompute(event: Any) -> str:
    """The hash an event should carry, computed from its own fields."""
    return event_hash(
        event.originator_id,
        event.originator_version,
        type(event).TOPIC,
        event.timestamp,
        payload_of(event),
        event.prev_hash,
    )


def link_problem(event: Any, expected_prev: str) -> str | None:
    """Why an event breaks its stream's chain (a wrong link or a hash that does not match), or None."""
    if event.prev_hash != expected_prev:
        return f"prev_hash {event.prev_hash[:12]}… does not link to {expected_prev[:12]}…"
    if recompute(event) != event.hash:
        return "hash does not match the event's content"
    return None


def first_broken(events: Iterable[Any]) -> tuple[Any, str] | None:
    """The first event of one stream whose link or hash does not match, with why; None when it holds."""
    expected_prev = GENESIS
    for event in events:
        problem = link_problem(event, expected_prev)
        if problem:
            return event, problem
        expected_prev = event.hash
    return None
