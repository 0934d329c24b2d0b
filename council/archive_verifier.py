"""Check a par-council round archive offline: `python -I archive_verifier.py ROUND-ARCHIVE.zip`.

One file, the standard library and `cryptography` only, no database, no server: an inspectorate reads and runs it
as it is. It exits 0 after printing what it checked, or 1 naming the first problem (member, line or event,
expected and found). The definitions it reproduces (docs/decisions/0008, 0010 and `domain/integrity.py`):

- event hash: sha256 of the UTF-8 JSON (keys sorted, no whitespace, ensure_ascii off) of
  ``[stream, version, topic, timestamp ISO, payload, prev_hash]``; the payload is the stored state without
  ``timestamp``, ``prev_hash``, ``hash`` and ``seal``, transcoded values reduced (``{"_type_", "_data_"}`` to its data,
  a ``uuid_hex`` to the UUID with hyphens);
- chain: version 1 links to 64 zeros, every later version to the hash of the one before;
- Merkle tree: RFC 9162, leaf ``SHA-256(0x00 || entry)``, node ``SHA-256(0x01 || left || right)``, the entry being
  the canonical JSON of ``{"hash", "position", "stream", "version"}``;
- checkpoint: Ed25519 over the canonical JSON of ``{"key_id", "purpose": "par-council checkpoint v1", "root",
  "signed_at", "tree_size"}``;
- results: a unit's index is the sum over its leaves of the final points (else the current points, else 0).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import uuid
import zipfile
import zlib
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "par-council round archive v1"
GENESIS = "0" * 64
BASE_FIELDS = ("timestamp", "prev_hash", "hash", "seal")  # the seal is the server's HMAC: not checkable offline
CHECKPOINT_PURPOSE = "par-council checkpoint v1"
CHECKPOINT_TOPIC = "par:ledger:checkpoint-signed"
MEMBERS = ("manifest.json", "events.jsonl", "leaves.jsonl", "checkpoints.json", "public-keys.json", "criteria.json",
           "evidence.json", "results.json")
POINTS_TOPICS = frozenset({"par:score:self-scored", "par:score:appraisal-proposed", "par:score:council-adjusted",
                           "par:score:explanation-accepted", "par:score:survey-scored",
                           "par:score:targets-scored"})
FINAL_TOPIC = "par:score:finalized"
SCORE_OPENED = "par:score:opened"
ROUND_OPENED = "par:round:opened"
ZERO = Decimal("0.00")


class Problem(Exception):
    """The first thing in the archive that does not hold: which member, where in it, and why."""

    def __init__(self, member: str, where: str, reason: str) -> None:
        super().__init__(f"{member}: {where}: {reason}")
        self.member, self.where, self.reason = member, where, reason


# -- the definitions ---------------------------------------------------------------------------------------------

def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def plain(value: Any) -> Any:
    """A stored (transcoded) value as `domain/integrity.py` `canonical` sees the domain value."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            if value["_type_"] == "uuid_hex":
                return str(uuid.UUID(hex=value["_data_"]))
            return plain(value["_data_"])
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def event_hash(stream: str, version: int, topic: str, state: dict[str, Any]) -> str:
    payload = {k: v for k, v in state.items() if k not in BASE_FIELDS}
    document = [stream, version, topic, plain(state["timestamp"]), plain(payload), state["prev_hash"]]
    return hashlib.sha256(canonical_json(document)).hexdigest()


def leaf_entry(position: int, stream: str, version: int, digest: str) -> bytes:
    return canonical_json({"position": position, "stream": stream.lower(), "version": version, "hash": digest})


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_roots(leaves: list[bytes], sizes: set[int]) -> dict[int, bytes]:
    """RFC 9162 MTH of the first n leaves for each n in `sizes`, in one pass (a stack of complete subtrees)."""
    found: dict[int, bytes] = {}
    if 0 in sizes:
        found[0] = hashlib.sha256(b"").digest()
    stack: list[bytes] = []
    for count, leaf in enumerate(leaves, start=1):
        node, merges = leaf, count
        while not merges & 1:
            node = node_hash(stack.pop(), node)
            merges >>= 1
        stack.append(node)
        if count in sizes:
            top = stack[-1]
            for left in reversed(stack[:-1]):
                top = node_hash(left, top)
            found[count] = top
    return found


def checkpoint_message(head: dict[str, Any]) -> bytes:
    return canonical_json({"purpose": CHECKPOINT_PURPOSE, "tree_size": int(head["tree_size"]), "root": head["root"],
                           "signed_at": head["signed_at"], "key_id": head["key_id"]})


# -- the checks --------------------------------------------------------------------------------------------------

class Archive:
    def __init__(self, path: str) -> None:
        try:
            self.zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as error:
            raise Problem(path, "the file", f"not a readable zip archive ({error})") from None
        self.names = set(self.zip.namelist())
        self.done: list[str] = []

    def raw(self, name: str) -> bytes:
        if name not in self.names:
            raise Problem(name, "the member", "missing from the archive")
        try:
            return self.zip.read(name)
        except (zipfile.BadZipFile, zlib.error, OSError) as error:  # a changed byte of the compressed data: bad CRC
            raise Problem(name, "the member", f"damaged in the zip ({error})") from None

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.raw(name).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise Problem(name, "the member", f"not valid JSON ({error})") from None

    def lines(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        found = []
        for number, text in enumerate(self.raw(name).decode("utf-8", errors="strict").splitlines(), start=1):
            try:
                found.append((number, json.loads(text)))
            except ValueError as error:
                raise Problem(name, f"line {number}", f"not valid JSON ({error})") from None
        return found


def verify(path: str) -> list[str]:
    """Every check in order; the lines saying what was checked. Raises Problem at the first failure."""
    archive = Archive(path)
    manifest = archive.json("manifest.json")
    if manifest.get("format") != FORMAT:
        raise Problem("manifest.json", "format", f"expected {FORMAT!r}, found {manifest.get('format')!r}")
    for name in MEMBERS:
        archive.raw(name)
    keys = _public_keys(archive.json("public-keys.json"))
    checkpoints = archive.json("checkpoints.json")
    leaves = _check_tree(archive, keys, checkpoints)
    events = _check_events(archive, leaves)
    _check_checkpoint_events(checkpoints, events)
    opening = _check_criteria(archive, events, manifest.get("round"))
    _check_evidence(archive, events, bool(manifest.get("with_evidence")))
    _check_results(archive, events, opening)
    return archive.done


def _public_keys(document: Any) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for number, row in enumerate(document.get("keys", []), start=1):
        try:
            raw = base64.b64decode(row["public_key"], validate=True)
            keys[row["key_id"]] = Ed25519PublicKey.from_public_bytes(raw)
        except (KeyError, ValueError, TypeError) as error:
            raise Problem("public-keys.json", f"key {number}", f"not an Ed25519 public key ({error})") from None
        found = hashlib.sha256(raw).hexdigest()[:16]
        if found != row["key_id"]:
            raise Problem("public-keys.json", f"key {number}", f"expected key id {found}, found {row['key_id']}")
    return keys


def _check_tree(archive: Archive, keys: dict[str, Ed25519PublicKey],
                checkpoints: list[dict[str, Any]]) -> dict[int, tuple[int, dict[str, Any]]]:
    """Signatures of every checkpoint, the leaves' Merkle roots against them; the leaves by position."""
    if not checkpoints:
        raise Problem("checkpoints.json", "the list", "no signed checkpoint: nothing anchors the archive")
    for number, head in enumerate(checkpoints, start=1):
        where = f"checkpoint {number} (tree size {head.get('tree_size')})"
        key = keys.get(str(head.get("key_id")))
        if key is None:
            raise Problem("checkpoints.json", where, f"signed by key {head.get('key_id')}, not in public-keys.json")
        try:
            key.verify(base64.b64decode(head["signature"]), checkpoint_message(head))
        except (InvalidSignature, ValueError, KeyError) as error:
            raise Problem("checkpoints.json", where, f"signature does not verify with key {head['key_id']} "
                          f"({type(error).__name__})") from None
    archive.done.append(f"checkpoints.json: {len(checkpoints)} checkpoint signature(s) verified")
    rows = archive.lines("leaves.jsonl")
    hashes, by_position, last = [], {}, 0
    for number, row in rows:
        position = int(row["position"])
        if position <= last:
            raise Problem("leaves.jsonl", f"line {number}", f"position {position} does not follow {last}")
        last = position
        by_position[position] = (number, row)
        hashes.append(leaf_hash(leaf_entry(position, row["stream"], int(row["version"]), row["hash"])))
    latest = int(checkpoints[-1]["tree_size"])
    if len(hashes) != latest:
        raise Problem("leaves.jsonl", "the member",
                      f"expected {latest} leaves (latest checkpoint), found {len(hashes)}")
    sizes = {int(head["tree_size"]) for head in checkpoints}
    roots = merkle_roots(hashes, sizes)
    for number, head in enumerate(checkpoints, start=1):
        size = int(head["tree_size"])
        found = roots[size].hex() if size in roots else "(beyond the leaves)"
        if found != head["root"]:
            raise Problem("leaves.jsonl", f"first {size} leaves", f"expected the signed root {head['root']} of "
                          f"checkpoint {number}, found {found}")
    archive.done.append(f"leaves.jsonl: {len(hashes)} leaves, Merkle root(s) equal the signed checkpoint roots")
    return by_position


def _check_events(archive: Archive, leaves: dict[int, tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every event's hash recomputed, every stream's chain, every event's leaf, no event of a stream left out."""
    last_hash: dict[str, str] = {}
    last_version: dict[str, int] = {}
    events, last_position = [], 0
    covered = max(leaves) if leaves else 0
    for number, row in archive.lines("events.jsonl"):
        where = f"line {number} (position {row.get('position')}, stream {row.get('stream')} v{row.get('version')})"
        stream, version, position = str(row["stream"]), int(row["version"]), int(row["position"])
        if position <= last_position:
            raise Problem("events.jsonl", where, f"position does not follow {last_position}")
        last_position = position
        try:
            state = json.loads(row["state"])
        except ValueError as error:
            raise Problem("events.jsonl", where, f"stored state is not JSON ({error})") from None
        if row["hash"] != state.get("hash"):
            raise Problem("events.jsonl", where,
                          f"hash field {row['hash']} differs from the state's {state.get('hash')}")
        found = event_hash(stream, version, row["topic"], state)
        if found != state["hash"]:
            raise Problem("events.jsonl", where, f"expected hash {state['hash']} (stored), recomputed {found}")
        expected_version = last_version.get(stream, 0) + 1
        if version != expected_version:
            raise Problem("events.jsonl", where, f"expected version {expected_version} of the stream, found {version}")
        expected_prev = last_hash.get(stream, GENESIS)
        if state["prev_hash"] != expected_prev:
            raise Problem("events.jsonl", where, f"prev_hash expected {expected_prev}, found {state['prev_hash']}")
        last_hash[stream], last_version[stream] = state["hash"], version
        if position <= covered:
            leaf = leaves.get(position)
            expected = {"position": position, "stream": stream, "version": version, "hash": state["hash"]}
            got = None if leaf is None else {k: leaf[1][k] for k in expected}
            if got != expected:
                raise Problem("events.jsonl", where, f"expected its leaf {expected} in leaves.jsonl, found {got}")
        events.append({"position": position, "stream": stream, "version": version, "topic": row["topic"],
                       "state": state})
    for position, (number, row) in leaves.items():
        stream = row["stream"]
        if stream in last_version and int(row["version"]) > last_version[stream]:
            raise Problem("events.jsonl", f"stream {stream}", f"leaves.jsonl line {number} holds version "
                          f"{row['version']} at position {position}, the archive's events stop at version "
                          f"{last_version[stream]}")
    archive.done.append(f"events.jsonl: {len(events)} event hashes recomputed, {len(last_hash)} stream chains "
                        "intact, every covered event's leaf found at its position")
    return events


def _check_checkpoint_events(checkpoints: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    recorded = [e for e in events if e["topic"] == CHECKPOINT_TOPIC]
    fields = ("tree_size", "root", "signed_at", "key_id", "signature")
    for number, head in enumerate(checkpoints, start=1):
        event = recorded[number - 1]["state"] if number <= len(recorded) else None
        expected = {k: head[k] for k in fields}
        found = None if event is None else {k: event.get(k) for k in fields}
        if found != expected:
            raise Problem("checkpoints.json", f"checkpoint {number}", f"expected the Ledger event {found} in "
                          f"events.jsonl to match, found {expected}")


def _check_criteria(archive: Archive, events: list[dict[str, Any]], round_key: Any) -> dict[str, Any]:
    opening = next((e["state"] for e in events if e["topic"] == ROUND_OPENED and e["state"].get("key") == round_key),
                   None)
    if opening is None:
        raise Problem("events.jsonl", "the round", f"no opening event of round {round_key}")
    criteria = archive.json("criteria.json")
    if plain(opening["framework"]) != criteria:
        raise Problem("criteria.json", "the tree", "differs from the framework of the round's opening event")
    archive.done.append(f"criteria.json: equals the criteria tree of round {round_key}'s opening event")
    return opening


def _documents(value: Any, found: dict[str, Any]) -> None:
    if isinstance(value, dict):
        if value.get("_type_") == "document" and isinstance(value.get("_data_"), dict):
            found.setdefault(value["_data_"]["sha256"], value["_data_"])
            return
        for item in value.values():
            _documents(item, found)
    elif isinstance(value, list):
        for item in value:
            _documents(item, found)


def _check_evidence(archive: Archive, events: list[dict[str, Any]], with_bytes: bool) -> None:
    referenced: dict[str, Any] = {}
    for event in events:
        _documents(event["state"], referenced)
    manifest = {row["sha256"]: row for row in archive.json("evidence.json")}
    for sha, document in referenced.items():
        row = manifest.get(sha)
        if row is None or row.get("size") != document.get("size"):
            raise Problem("evidence.json", f"document {sha}", f"expected size {document.get('size')} as the events "
                          f"say, found {None if row is None else row.get('size')}")
    checked = 0
    for sha, row in sorted(manifest.items()):
        name = f"evidence/{sha}"
        if name not in archive.names:
            if with_bytes:
                raise Problem(name, "the member", "missing although the archive says it carries the evidence")
            continue
        data = archive.raw(name)
        found = hashlib.sha256(data).hexdigest()
        if found != sha or len(data) != row.get("size"):
            raise Problem(name, "the bytes", f"expected sha256 {sha} ({row.get('size')} bytes), "
                          f"found {found} ({len(data)} bytes)")
        checked += 1
    archive.done.append(f"evidence.json: {len(referenced)} documents of the events listed; {checked} evidence "
                        "file(s) re-hashed")


def _decimal(value: Any, member: str, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise Problem(member, where, f"{value!r} is not a number") from None


def _check_results(archive: Archive, events: list[dict[str, Any]], opening: dict[str, Any]) -> None:
    """Each unit's index (and field totals) recomputed from the score events against results.json."""
    units = [plain(u)["code"] for u in opening["units"]]
    scores: dict[str, dict[str, Any]] = {}
    for event in events:
        state, stream = event["state"], event["stream"]
        if event["topic"] == SCORE_OPENED and state.get("round_key") == opening["key"]:
            scores[stream] = {"unit": state["unit"], "field": state["field"], "points": None, "final": None}
        elif stream in scores and event["topic"] in POINTS_TOPICS:
            scores[stream]["points"] = plain(state["points"])
        elif stream in scores and event["topic"] == FINAL_TOPIC:
            scores[stream]["final"] = plain(state["points"])
    index = dict.fromkeys(units, ZERO)
    fields: dict[str, dict[str, Decimal]] = {unit: {} for unit in units}
    for score in scores.values():
        value = score["final"] if score["final"] is not None else score["points"]
        points = Decimal(value) if value is not None else ZERO
        index[score["unit"]] = index.get(score["unit"], ZERO) + points
        by_field = fields.setdefault(score["unit"], {})
        by_field[score["field"]] = by_field.get(score["field"], ZERO) + points
    results = archive.json("results.json")
    published = {row["unit"]: row for row in results.get("units", [])}
    for unit in units:
        row = published.get(unit)
        if row is None:
            raise Problem("results.json", f"unit {unit}", "missing from the results")
        found = _decimal(row["index"], "results.json", f"unit {unit} index")
        if found != index[unit]:
            raise Problem("results.json", f"unit {unit} index", f"expected {index[unit]} from the events, found "
                          f"{row['index']}")
        for field, total in sorted(fields[unit].items()):
            claimed = _decimal(row.get("fields", {}).get(field), "results.json", f"unit {unit} field {field}")
            if claimed != total:
                raise Problem("results.json", f"unit {unit} field {field}", f"expected {total} from the events, "
                              f"found {row['fields'][field]}")
    extra = sorted(set(published) - set(units))
    if extra:
        raise Problem("results.json", f"unit {extra[0]}", "not a unit of the round")
    archive.done.append(f"results.json: the index and field totals of {len(units)} unit(s) recomputed from "
                        f"{len(scores)} score streams")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: archive_verifier.py ARCHIVE.zip", file=sys.stderr)
        return 2
    try:
        done = verify(args[0])
    except Problem as problem:
        print(f"FAILED: {problem}")
        return 1
    except (KeyError, TypeError, ValueError) as error:
        print(f"FAILED: the archive is malformed: {type(error).__name__}: {error}")
        return 1
    for line in done:
        print(f"ok  {line}")
    print("VALID: every check holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
