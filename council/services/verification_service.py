"""Integrity services: recompute every stream's hash chain over the log; check a write's receipt."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.utils import get_topic

from council.infra.keyring import rfc3339
from council.infra.recorders import Row
from council.services.ledger_service import LedgerServices, topic_of
from domain.base import event_type
from domain.blob import Blob
from domain.errors import NotFoundError
from domain.integrity import GENESIS, link_problem, load_plain, stored_hash
from domain.ledger import Ledger
from projections.ledger_format import checkpoint_message, entry, event_leaf, fast_leaf
from projections.merkle import Tree, leaf_hash, verify_consistency, verify_inclusion
from projections.tables import KEYS, NAMES, TABLES

if TYPE_CHECKING:
    from projections.read_models import ReadModels

PAGE = 1000
WALK_PAGE = 5000  # events per read of the walk over the whole log
CHECKPOINT_TOPIC = Ledger.CheckpointSigned.TOPIC
HASH_CHUNK = 1024 * 1024
VIEW_ATTEMPTS = 3  # fresh folds tried when the log moves between catching the views up and folding it afresh


class VerificationServices(LedgerServices):
    def verify(self, round_key: str | None = None, sample: int | None = None, views: ReadModels | None = None,
               witness: ReadModels | None = None) -> dict[str, Any]:
        """The log's chains, seals and checkpoints (`verify_log`, naming with the `witness`'s ledger view the event
        a failing checkpoint lost), the evidence files re-hashed against their names (all, or a random `sample` of
        them), and, given `views`, the read views against a fresh fold of the log. `valid` holds only when all of
        them do; each part names its first problem."""
        report = self.verify_log(round_key, witness)
        report["evidence"] = self.verify_evidence(sample)
        report["views"] = None if views is None else verify_views(views)
        report["valid"] = bool(report["valid"] and report["evidence"]["first_problem"] is None
                               and (views is None or report["views"]["first_problem"] is None))
        return report

    def verify_log(self, round_key: str | None = None, witness: ReadModels | None = None) -> dict[str, Any]:
        """Walk the whole notification log once; name the first event whose link, hash or seal does not hold, then
        the first recorded checkpoint whose signature, Merkle root (recomputed from the log's events) or
        consistency with the checkpoint before it does not hold.

        Hashes are recomputed from the stored JSON (`stored_hash`, no domain objects); an event whose stored form
        does not give its hash that way is decoded and checked the exact way (`link_problem`) before it is named,
        so the fast path never names an intact event."""
        walk = _Walk(self, round_key)
        start = 1
        while True:
            page = self.recorder.scan(start, WALK_PAGE)  # type: ignore[attr-defined]
            for row in page:
                broken = walk.take(row)
                if broken is not None:
                    return broken
            if len(page) < WALK_PAGE:
                report = _report(walk.checked, len(walk.last_hash), None, None, None)
                report["checkpoints_checked"] = len(walk.heads)
                problem = self._checkpoint_problem(walk, witness)
                if problem is not None:
                    report["valid"], report["first_broken"] = False, problem
                return report
            start = page[-1][0] + 1

    def verify_evidence(self, sample: int | None = None) -> dict[str, Any]:
        """Re-hash the stored bytes of every recorded blob (or of a random `sample` of them): a file that is
        missing, or whose bytes no longer hash to the sha256 it is stored and served under, is named."""
        blobs = self._blobs()
        chosen = blobs if sample is None or sample >= len(blobs) else secrets.SystemRandom().sample(blobs, sample)
        problems = [found for found in (self._blob_problem(stream, sha256) for stream, sha256 in chosen) if found]
        return {"blobs": len(blobs), "checked": len(chosen), "problems": len(problems),
                "first_problem": problems[0] if problems else None}

    def _blobs(self) -> list[tuple[UUID, str]]:
        found, start = [], 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=PAGE, topics=[Blob.Created.TOPIC])
            for notification in page:
                event = self.mapper.to_domain_event(notification)
                found.append((event.originator_id, str(event.sha256)))  # type: ignore[attr-defined]
            if len(page) < PAGE:
                return found
            start = page[-1].id + 1

    def _blob_problem(self, stream: UUID, sha256: str) -> dict[str, Any] | None:
        digest = hashlib.sha256()
        try:
            with self.blobs.open(sha256) as stored:
                while chunk := stored.read(HASH_CHUNK):
                    digest.update(chunk)
        except NotFoundError:
            return {"sha256": sha256, "stream": str(stream), "reason": "the evidence file is missing from the store"}
        found = digest.hexdigest()
        if found != sha256:
            return {"sha256": sha256, "stream": str(stream),
                    "reason": f"the stored bytes hash to {found}, not to the sha256 they are served under"}
        return None

    def _checkpoint_problem(self, walk: _Walk, witness: ReadModels | None) -> dict[str, Any] | None:
        """The first recorded checkpoint that does not hold against the log as it is now; where the ledger view
        still reproduces that checkpoint's signed root, it names the first event the log lost, moved or changed."""
        previous: Any = None
        for position, head in walk.heads:
            problem = self._head_problem(walk.tree, head, previous)
            if problem is not None:
                found = {"position": position, "stream": str(head.originator_id), "version": head.originator_version,
                         "type": event_type(head), "checkpoint": head.tree_size, "reason": problem}
                named = None if witness is None else self._witnessed(walk, head, witness)
                if named is not None:
                    found.update(named)
                    found["reason"] = f"{problem}; {named['reason']}"
                return found
            previous = head
        return None

    def _witnessed(self, walk: _Walk, head: Any, witness: ReadModels) -> dict[str, Any] | None:
        """The event the signed tree of `head` has where the log now differs, read from the ledger view, but only
        when the view's rows recompute to the signed root (then the signature vouches for them); None otherwise."""
        rows = witness.ledger_entries(head.tree_size)
        leaves = [leaf_hash(entry(row.position, row.stream, row.version, row.hash)) for row in rows]
        if len(rows) != head.tree_size or any(leaf.hex() != row.leaf for leaf, row in zip(leaves, rows, strict=True)) \
                or Tree(leaves).root().hex() != head.root:
            return None
        for index, (row, leaf) in enumerate(zip(rows, leaves, strict=True)):
            if index < len(walk.tree) and walk.tree.leaf(index) == leaf:
                continue
            signed = f"{row.stream} version {row.version} at position {row.position}"
            now = self._where_now(UUID(row.stream), int(row.version))
            if now is None:
                fate = "is no longer in the log"
            elif now[0] != row.position:
                fate = f"is now at position {now[0]}"
            else:
                fate = f"now has hash {now[1]}, not {row.hash}"
            return {"position": int(row.position), "stream": row.stream, "version": int(row.version),
                    "type": None if now is None else now[2],
                    "reason": f"the signed tree has {signed} as leaf {index}, which {fate}"}
        return None

    def _where_now(self, stream: UUID, version: int) -> tuple[int, str, str] | None:
        """(position, hash, type) of an event of the log now, or None when it is gone."""
        events = list(self.events.get(stream, gt=version - 1, lte=version))
        if not events:
            return None
        event = events[0]
        start = 1
        while page := self.recorder.select_notifications(start=start, limit=PAGE, topics=[get_topic(type(event))]):
            for notification in page:
                if notification.originator_id == stream and notification.originator_version == version:
                    return notification.id, event.hash, event_type(event)  # type: ignore[attr-defined]
            start = page[-1].id + 1
        return None

    def _head_problem(self, tree: Tree, head: Any, previous: Any) -> str | None:
        size = head.tree_size
        if self.keyring is None:
            return "no keyring to check the checkpoint's signature with"
        problem = self.keyring.check(head.key_id, checkpoint_message(size, head.root, head.signed_at, head.key_id),
                                     head.signature)
        if problem is not None:
            return f"checkpoint of tree size {size}: signature: {problem}"
        if size > len(tree):
            return f"checkpoint of tree size {size}: the log holds only {len(tree)} events"
        found = tree.root(size).hex()
        if found != head.root:
            return (f"checkpoint of tree size {size}: expected the signed root {head.root}, but the log's first "
                    f"{size} events give {found}")
        if previous is not None:
            if previous.tree_size > size:
                return f"checkpoint of tree size {size} is smaller than the one before it ({previous.tree_size})"
            proof = tree.consistency(previous.tree_size, size)
            if not verify_consistency(previous.tree_size, size, bytes.fromhex(previous.root), bytes.fromhex(head.root),
                                      proof):
                return f"checkpoint of tree size {size} is not consistent with the one of size {previous.tree_size}"
        return None

    def verify_receipt(self, receipt: Mapping[str, Any]) -> dict[str, Any]:
        """A receipt holds when its signature (if it carries one) is the council's over its fields, its event is
        in the log with that hash, type, time, request and position, and the chain up to it is intact."""
        signed = bool(receipt.get("key_id") or receipt.get("signature"))
        verdict = self._receipt_problem(receipt, signed)
        if verdict is not None:
            return {"valid": False, "signed": signed, "reason": verdict}
        what = "its signature is the council's, " if signed else "it is not signed, but "
        answer = {"valid": True, "signed": signed, "reason": f"{what}the event is in the log and its chain is intact",
                  "included": None, "checkpoint": None}
        position = receipt.get("notification_id")
        if position is not None:
            included = self._included(int(position))
            if included is not None:
                answer["included"], answer["checkpoint"] = included
                if not included[0]:
                    answer["valid"] = False
                    answer["reason"] = (f"the event at position {position} is not in the signed Merkle tree of size "
                                        f"{included[1]['tree_size']}")
        return answer

    def _included(self, position: int) -> tuple[bool, dict[str, Any]] | None:
        """Whether the latest checkpoint covering `position` proves the event at `position` (its inclusion proof
        over the leaves recomputed from the log); None when no checkpoint covers it yet."""
        heads = self.checkpoints()
        if not heads:
            return None
        head = heads[-1]
        tree, index = Tree(), None
        for at, _event, leaf in self.log_leaves(head["tree_size"]):
            if at == position:
                index = len(tree)
            tree.append(leaf)
        if index is None:
            return None
        proof = tree.inclusion(index, head["tree_size"]) if len(tree) == head["tree_size"] else []
        ok = len(tree) == head["tree_size"] and verify_inclusion(tree.leaf(index), index, head["tree_size"], proof,
                                                                  bytes.fromhex(head["root"]))
        return ok, head

    def _receipt_problem(self, receipt: Mapping[str, Any], signed: bool) -> str | None:
        if signed:
            if self.keyring is None:
                return "no keyring to check the signature with"
            problem = self.keyring.check_receipt(receipt)
            if problem is not None:
                return problem
        stream, version = UUID(str(receipt["stream"])), int(receipt["version"])
        events = list(self.events.get(stream, lte=version))
        if not events or events[-1].originator_version != version:
            return "no such event in the log"
        event = events[-1]
        if event.hash != receipt["event_hash"]:  # type: ignore[attr-defined]
            return "the event in the log has another hash"
        mismatch = self._fields_mismatch(event, receipt)
        if mismatch is not None:
            return mismatch
        broken = self.first_unsound(events)
        if broken is not None:
            return f"version {broken[0].originator_version}: {broken[1]}"
        return None

    def _fields_mismatch(self, event: Any, receipt: Mapping[str, Any]) -> str | None:
        """The receipt's other fields, when it has them, against the event and its position in the log."""
        found = {"type": event_type(event), "request_id": getattr(event, "request_id", None),
                 "recorded_at": rfc3339(event.timestamp)}
        claimed = dict(receipt)
        if claimed.get("recorded_at") is not None:
            claimed["recorded_at"] = rfc3339(claimed["recorded_at"])
        for name, value in found.items():
            if claimed.get(name) is not None and claimed[name] != value:
                return f"the event in the log has another {name}: {value!r}, not {claimed[name]!r}"
        position = receipt.get("notification_id")
        if position is not None:
            at = self.recorder.select_notifications(start=int(position), limit=1, stop=int(position))
            if not at or at[0].originator_id != event.originator_id or \
                    at[0].originator_version != event.originator_version:
                return f"the event is not at position {position} of the log"
        return None


class _Walk:
    """One pass over the log: each event's chain, hash and seal, the Merkle tree of the whole log and the signed
    checkpoints met on the way."""

    def __init__(self, council: VerificationServices, round_key: str | None) -> None:
        self.council, self.round_key = council, round_key
        self.last_hash: dict[str, str] = {}  # by stream, a lower-case UUID with hyphens
        self.stream_round: dict[str, str | None] = {}
        self.tree = Tree()
        self.heads: list[tuple[int, Any]] = []
        self.checked = 0
        keyring = council.keyring
        self.seal_problem = (lambda *_args: "no keyring to check the event's seal with") if keyring is None \
            else keyring.seal_problem

    def take(self, row: Row) -> dict[str, Any] | None:
        """Check one stored event; the report naming it when it breaks the log, else None."""
        position, stream, version, stored_topic, stored_state = row
        state = load_plain(stored_state)
        topic = topic_of(stored_topic)
        digest = stored_hash(stream, version, topic, state)
        if digest is None or digest != state.get("hash"):  # decode it and check it the exact way before naming it
            return self._decoded(row)
        self.tree.append(fast_leaf(position, stream, version, digest))
        if topic == CHECKPOINT_TOPIC:
            self.heads.append((position, self._event(row)))
        if version == 1:
            self.stream_round[stream] = state.get("round_key") or state.get("key")
        if self.round_key is not None and self.stream_round.get(stream) != self.round_key:
            return None
        self.checked += 1
        expected = self.last_hash.get(stream, GENESIS)
        problem: str | None = None
        if state.get("prev_hash") != expected:
            problem = f"prev_hash {str(state.get('prev_hash'))[:12]}… does not link to {expected[:12]}…"
        else:
            problem = self.seal_problem(stream, version, digest, state.get("seal"))
        if problem:
            return _report(self.checked, len(self.last_hash) + 1, position, self._event(row), problem)
        self.last_hash[stream] = digest
        return None

    def _event(self, row: Row) -> Any:
        return self.council.row_event(row)

    def _decoded(self, row: Row) -> dict[str, Any] | None:
        """The slow path of `take`: the domain event, its link and hash recomputed from its fields."""
        position, event = row[0], self._event(row)
        stream = str(event.originator_id)
        self.tree.append(event_leaf(position, event))
        if isinstance(event, Ledger.CheckpointSigned):
            self.heads.append((position, event))
        if event.originator_version == 1:
            data = event.__dict__
            self.stream_round[stream] = data.get("round_key") or data.get("key")
        if self.round_key is not None and self.stream_round.get(stream) != self.round_key:
            return None
        self.checked += 1
        problem = link_problem(event, self.last_hash.get(stream, GENESIS)) or self.council.seal_problem(event)
        if problem:
            return _report(self.checked, len(self.last_hash) + 1, position, event, problem)
        self.last_hash[stream] = event.hash  # type: ignore[attr-defined]
        return None


def verify_views(read_models: ReadModels) -> dict[str, Any]:
    """The view tables readers use against a fold of the whole log into a scratch generation (dropped after):
    the first table and row where they differ. Both must stand at the same position of the log; if writes move
    it in between, the comparison is tried again (VIEW_ATTEMPTS times)."""
    for _attempt in range(VIEW_ATTEMPTS):
        live = read_models.fresh_view()
        scratch = read_models.view(read_models.rebuild(switch=False))
        try:
            position = scratch.position()
            if live.position() != position:
                continue
            problem = next((found for found in (_table_problem(name, live, scratch) for name in NAMES) if found),
                           None)
            return {"position": position, "generation": live.generation, "tables": list(NAMES),
                    "first_problem": problem}
        finally:
            scratch.retire()
    return {"position": None, "generation": None, "tables": list(NAMES), "first_problem": {
        "table": None, "row": None, "reason": f"the log moved during each of {VIEW_ATTEMPTS} comparisons; retry"}}


def _rows(view: Any, name: str) -> list[tuple[Any, ...]]:
    names = TABLES[name]._fields  # type: ignore[attr-defined]
    rows = view.query(f"SELECT * FROM {{{name}}} ORDER BY {', '.join(names)}")
    return [tuple(row[column] for column in names) for row in rows]


def _table_problem(name: str, live: Any, fresh: Any) -> dict[str, Any] | None:
    """The first row (in the order of all columns) where the view readers use and the fresh fold differ."""
    names: tuple[str, ...] = TABLES[name]._fields  # type: ignore[attr-defined]
    found, expected = _rows(live, name), _rows(fresh, name)
    for index in range(max(len(found), len(expected))):
        have = found[index] if index < len(found) else None
        want = expected[index] if index < len(expected) else None
        if have == want:
            continue
        either = dict(zip(names, have if have is not None else want, strict=True))  # type: ignore[arg-type]
        return {"table": name, "row": {key: _shown(either[key]) for key in KEYS[name]},
                "reason": f"the view holds {_described(names, have)}, but the log gives {_described(names, want)}"}
    return None


def _described(names: tuple[str, ...], row: tuple[Any, ...] | None) -> str:
    if row is None:
        return "no such row"
    return "{" + ", ".join(f"{name}={_shown(value)}" for name, value in zip(names, row, strict=True)) + "}"


def _shown(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, bool)) else str(value)


def _report(checked: int, streams: int, position: int | None, event: Any, problem: str | None) -> dict[str, Any]:
    broken = None if event is None else {
        "position": position, "stream": str(event.originator_id), "version": event.originator_version,
        "type": event_type(event), "reason": problem}
    return {"valid": broken is None, "events_checked": checked, "streams": streams, "first_broken": broken}
