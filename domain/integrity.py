"""The per-stream hash chain: canonical encoding of events and its verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
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
