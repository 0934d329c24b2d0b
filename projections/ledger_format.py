"""What par-council puts in its Merkle tree (docs/decisions/0010-ledger.md): the one definition of a leaf's entry
bytes and of a checkpoint's signed message. Standard library only, so an outside verifier can copy it.

- Leaf i is the i-th event of the notification log in position order (positions may have gaps on PostgreSQL,
  so the index is not the position); a tree of size n covers the first n events of the log.
- Its entry is the UTF-8 JSON, keys sorted, no whitespace, of
  ``{"hash": <the event's sha256 hex>, "position": <notification id>, "stream": <UUID>, "version": <int>}``;
  its leaf hash is RFC 9162's ``SHA-256(0x00 || entry)`` (`projections.merkle.leaf_hash`).
- A checkpoint signs, with Ed25519, the UTF-8 JSON, keys sorted, no whitespace, of
  ``{"key_id", "purpose": "par-council checkpoint v1", "root": <64 hex>, "signed_at": <RFC 3339 UTC, six fraction
  digits and Z>, "tree_size": <int>}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from projections.merkle import Tree, leaf_hash

CHECKPOINT_PURPOSE = "par-council checkpoint v1"


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry(position: int, stream: str, version: int, event_hash: str) -> bytes:
    """The entry bytes of the event at `position` of the log."""
    return _canonical({"position": int(position), "stream": str(stream).lower(), "version": int(version),
                       "hash": str(event_hash)})


def event_leaf(position: int, event: Any) -> bytes:
    """The leaf hash of a domain event recorded at `position`."""
    return leaf_hash(entry(position, str(event.originator_id), event.originator_version, event.hash))


def fast_leaf(position: int, stream: object, version: int, event_hash: str) -> bytes:
    """`event_leaf` for an event hash the caller computed itself (64 lower-case hex digits, so nothing in the entry
    needs escaping): the same bytes, formatted directly (verify computes one per event of the log)."""
    text = (f'{{"hash":"{event_hash}","position":{int(position)},"stream":"{str(stream).lower()}",'
            f'"version":{int(version)}}}')
    return hashlib.sha256(b"\x00" + text.encode("ascii")).digest()


def checkpoint_message(tree_size: int, root: str, signed_at: str, key_id: str) -> bytes:
    """The bytes a checkpoint's signature covers (`signed_at` already in RFC 3339 UTC)."""
    return _canonical({"purpose": CHECKPOINT_PURPOSE, "tree_size": int(tree_size), "root": str(root),
                       "signed_at": signed_at, "key_id": str(key_id)})


def tree_of(leaves: Iterable[bytes]) -> Tree:
    return Tree(leaves)
