"""Integrity services: recompute every stream's hash chain over the log; check a write's receipt."""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import secrets
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from functools import partial
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from eventsourcing.utils import get_topic

from council.infra.keyring import rfc3339
from council.infra.recorders import Row
from council.services.ledger_service import LedgerServices, topic_of
from domain.base import event_type
from domain.blob import Blob
from domain.errors import NotFoundError
from domain.integrity import GENESIS, Hashed, hash_rows, link_problem, load_plain, stored_hash
from domain.ledger import Ledger
from projections.ledger_format import checkpoint_message, entry, event_leaf, fast_leaf
from projections.merkle import Tree, leaf_hash, verify_consistency, verify_inclusion
from projections.tables import KEYS, NAMES, TABLES

if TYPE_CHECKING:
    from projections.read_models import ReadModels

PAGE = 1000
WALK_PAGE = 5000  # events per read of the walk over the whole log
UNIT = 1000  # events per unit of hashing, here or in the helper process
HELPER_BACKLOG = 8  # units handed to the helper and not answered yet: beyond, this process hashes the next one
UNITS_AHEAD = 16  # units read but not yet merged, at most, before the walk waits for the helper
# Pipes that hold a whole unit (1 MiB, what Linux allows any user): the helper does not wait for the rest of a unit,
# nor to hand in its answer, while this process holds the GIL (with the default 64 KiB, verify ran at 103,000
# events/s instead of 144,000)
PIPE_BYTES = 1 << 20
HELPER_TIMEOUT = 60.0  # seconds without an answer after which the helper is given up and its units hashed here
# How `hash_rows` hashes: the leaf of ledger_format and orjson's reading and writing (json's were two thirds of the
# time of verify; the domain keeps to the standard library, `hash_stored` says what a codec must do, orjson does it)
HASHING = (fast_leaf, orjson.loads, partial(orjson.dumps, option=orjson.OPT_SORT_KEYS))
# The helper's program: `hash_rows` for each unit it is sent, as HASHING (built there: orjson refuses the option of
# an unpickled partial). It imports orjson, domain.integrity and projections.ledger_format only, so it starts in tens
# of milliseconds (importing council.services takes about 200). Its arguments are this sys.path.
HELPER_PROGRAM = """
import sys
sys.path[:0] = sys.argv[1:]
from functools import partial
from multiprocessing.connection import Connection
import orjson
from domain.integrity import hash_rows
from projections.ledger_format import fast_leaf
hashing = (fast_leaf, orjson.loads, partial(orjson.dumps, option=orjson.OPT_SORT_KEYS))
units, answers = Connection(0, writable=False), Connection(1, readable=False)
while True:
    try:
        rows, topics = units.recv()
    except EOFError:
        break
    answers.send(hash_rows(rows, topics, *hashing))
"""
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

        Hashes are recomputed from the stored JSON (`hash_rows` with orjson, else `stored_hash` with json; no
        domain objects); an event whose stored form does not give its hash that way is decoded and checked the
        exact way (`link_problem`) before it is named, so the fast path never names an intact event."""
        walk = _Walk(self, round_key)
        broken = self._walk_log(walk)
        if broken is not None:
            return broken
        report = _report(walk.checked, len(walk.last_hash), None, None, None)
        report["checkpoints_checked"] = len(walk.heads)
        problem = self._checkpoint_problem(walk, witness)
        if problem is not None:
            report["valid"], report["first_broken"] = False, problem
        return report

    def _walk_log(self, walk: _Walk) -> dict[str, Any] | None:
        """Every event of the log through `walk`, in log order; the report naming the first broken one, or None.

        The log is hashed in units of UNIT events (`hash_rows`, which needs nothing but the rows); when it holds
        more than one page, a helper process hashes units too, so both cores work (reading, sealing, linking and
        the Merkle tree stay here, in log order). A unit the helper cannot answer is hashed here."""
        units: deque[_Unit] = deque()
        helper: _Helper | None = None
        start = 1
        try:
            while True:
                page = self.recorder.scan(start, WALK_PAGE)  # type: ignore[attr-defined]
                if start == 1 and len(page) == WALK_PAGE and os.name == "posix":
                    helper = _Helper.start()
                for at in range(0, len(page), UNIT):
                    unit = _Unit(page[at:at + UNIT])
                    walk.know(unit.rows)
                    if helper is None or len(helper.sent) >= HELPER_BACKLOG or not helper.send(unit, walk.topics):
                        unit.hashed = walk.hash(unit.rows)
                    units.append(unit)
                    broken = walk.merge_ready(units, helper, wait=len(units) > UNITS_AHEAD)
                    if broken is not None:
                        return broken
                if len(page) < WALK_PAGE:
                    break
                start = page[-1][0] + 1
            while units:
                broken = walk.merge_ready(units, helper, wait=True)
                if broken is not None:
                    return broken
            return None
        finally:
            if helper is not None:
                helper.close()

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


class _Unit:
    """Consecutive rows of the log and, once hashed (here or by the helper), what `hash_rows` found of them."""

    __slots__ = ("hashed", "rows")

    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows = rows
        self.hashed: list[Hashed | None] | None = None


class _Helper:
    """A second process that hashes units of the log (HELPER_PROGRAM). Units go out through a thread (a write
    waits while the pipe is full) and come back in the order they went; `sent` holds those not answered yet."""

    def __init__(self, process: subprocess.Popen[bytes], units: Connection, answers: Connection) -> None:
        self.process, self.units, self.answers = process, units, answers
        self.sent: deque[_Unit] = deque()
        self.failed = False
        self.outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self.sender = threading.Thread(target=self._send_all, name="verify-helper-sender", daemon=True)
        self.sender.start()

    @classmethod
    def start(cls) -> _Helper | None:
        """The helper, or None when no process can be started (the walk then hashes everything itself)."""
        if not sys.executable:  # an embedded interpreter: nothing to start
            return None
        import fcntl  # POSIX only, as the helper is

        to_helper, units = os.pipe()
        answers, from_helper = os.pipe()
        for fd in (units, answers):
            with contextlib.suppress(OSError, AttributeError):  # Linux only; the default (64 KiB) works, slower
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        try:
            process = subprocess.Popen([sys.executable, "-c", HELPER_PROGRAM, *sys.path], stdin=to_helper,
                                       stdout=from_helper, close_fds=True)
        except OSError:
            os.close(units)
            os.close(answers)
            return None
        finally:  # the helper's ends of the pipes are its own now
            os.close(to_helper)
            os.close(from_helper)
        return cls(process, Connection(units, readable=False), Connection(answers, writable=False))

    def send(self, unit: _Unit, topics: dict[str, str]) -> bool:
        """Hand `unit` to the helper; False once it has failed."""
        if self.failed:
            return False
        self.sent.append(unit)
        self.outbox.put((unit.rows, dict(topics)))
        return True

    def collect(self, wait: bool) -> list[_Unit]:
        """Take in the answers that arrived (waiting for one when `wait`); the units the helper will not answer
        now that it failed (dead, or silent for HELPER_TIMEOUT), for the caller to hash."""
        while self.sent and not self.failed:
            try:
                if not self.answers.poll(HELPER_TIMEOUT if wait else 0):
                    if not wait:
                        return []
                    raise TimeoutError
                self.sent.popleft().hashed = self.answers.recv()
            except Exception:  # it died, timed out or sent what does not unpickle: its units are hashed here
                self.failed = True
                self.process.kill()
            wait = False
        abandoned = [unit for unit in self.sent if unit.hashed is None] if self.failed else []
        if self.failed:
            self.sent.clear()
        return abandoned

    def close(self) -> None:
        """Stop the helper: its input ends, so it exits (it is killed if it has not within a few seconds)."""
        self.outbox.put(None)
        if self.sent:  # the walk stopped early (a broken event): what the helper still hashes is not needed
            self.process.kill()
        self.sender.join(5)
        self.answers.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _send_all(self) -> None:
        try:
            while (item := self.outbox.get()) is not None:
                self.units.send(item)
        except OSError:  # the helper is gone; `collect` finds it out
            pass
        finally:
            self.units.close()


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
        self.topics: dict[str, str] = {}  # the library's stored topic -> the TOPIC a hash covers
        keyring = council.keyring
        self.seal_problem = (lambda *_args: "no keyring to check the event's seal with") if keyring is None \
            else keyring.seal_problem

    def know(self, rows: Sequence[Row]) -> None:
        """The TOPIC of every stored topic among `rows`, in `topics`."""
        for stored in {row[3] for row in rows}.difference(self.topics):
            self.topics[stored] = topic_of(stored)

    def hash(self, rows: Sequence[Row]) -> list[Hashed | None]:
        return hash_rows(rows, self.topics, *HASHING)

    def merge_ready(self, units: deque[_Unit], helper: _Helper | None, wait: bool) -> dict[str, Any] | None:
        """Check the hashed units at the head of `units`, in order (waiting for the helper to answer the first
        one when `wait`); the report naming the first broken event, or None."""
        while units:
            if units[0].hashed is None and helper is not None:
                for unit in helper.collect(wait):
                    unit.hashed = self.hash(unit.rows)
            hashed = units[0].hashed
            if hashed is None:
                return None
            broken = self.merge(units.popleft().rows, hashed)
            if broken is not None:
                return broken
            wait = False
        return None

    def merge(self, rows: Sequence[Row], hashed: Sequence[Hashed | None]) -> dict[str, Any] | None:
        """Check `rows` in log order, given what `hash_rows` found of them (the rest the exact way); the
        report naming the first broken event, or None. Its loop runs once per event of the log, in this process
        only, so it keeps what it uses in locals."""
        append, topics, last_hash, stream_round = self.tree.append, self.topics, self.last_hash, self.stream_round
        round_key, seal_problem = self.round_key, self.seal_problem
        for row, found in zip(rows, hashed, strict=True):
            if found is None and (found := self.exactly(row)) is None:
                broken = self._decoded(row)
                if broken is not None:
                    return broken
                continue
            digest, prev_hash, seal, leaf, first = found
            position, stream, version = row[0], row[1], row[2]
            append(leaf)
            if topics[row[3]] == CHECKPOINT_TOPIC:
                self.heads.append((position, self._event(row)))
            if first is not None:
                stream_round[stream] = first.get("round_key") or first.get("key")
            if round_key is not None and stream_round.get(stream) != round_key:
                continue
            self.checked += 1
            expected = last_hash.get(stream, GENESIS)
            problem: str | None
            if prev_hash != expected:
                problem = f"prev_hash {str(prev_hash)[:12]}… does not link to {expected[:12]}…"
            else:
                problem = seal_problem(stream, version, digest, seal)
            if problem:
                return _report(self.checked, len(last_hash) + 1, position, self._event(row), problem)
            last_hash[stream] = digest
        return None

    def exactly(self, row: Row) -> Hashed | None:
        """What `hash_rows` finds of a row, from its stored JSON read by json (where orjson could not tell, or the
        hash differs); None when the hash differs that way too, and the event is to be decoded before it is named."""
        position, stream, version, stored_topic, stored_state = row
        state = load_plain(stored_state)
        digest = stored_hash(stream, version, self.topics[stored_topic], state)
        if digest is None or digest != state.get("hash"):
            return None
        return digest, state.get("prev_hash"), state.get("seal"), fast_leaf(position, stream, version, digest), \
            state if version == 1 else None

    def _event(self, row: Row) -> Any:
        return self.council.row_event(row)

    def _decoded(self, row: Row) -> dict[str, Any] | None:
        """The slow path of `merge`: the domain event, its link and hash recomputed from its fields."""
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
