"""The ledger: signed checkpoints (tree heads) of the Merkle tree over the log, and the log's own leaves, which the
verifier recomputes from the events (docs/decisions/0010-ledger.md)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import resolve_topic

from council.infra.keyring import rfc3339
from council.infra.recorders import Row
from council.services.application import CouncilBase, Receipt
from domain.errors import NoSigningKeyError, NotFoundError, UnsoundLogError
from domain.ids import ledger_id
from domain.integrity import load_plain, recompute, stored_hash
from domain.ledger import Ledger, checkpoint_of
from domain.values import Actor, Role
from projections.ledger_format import checkpoint_message, event_leaf
from projections.merkle import root

PAGE = 1000


class LedgerServices(CouncilBase):
    def sign_checkpoint(self, actor: Actor, entries: Sequence[tuple[int, bytes]]) -> tuple[dict[str, Any], Receipt]:
        """Sign the tree head over the leaves of `entries` ((position, leaf hash) of the first len(entries) events of
        the log, in position order: the ledger view, caught up by the caller) with the current key, and record it
        in the log. Refused (UnsoundLogError) while an event after the previous checkpoint lacks its hash or seal."""
        if self.keyring is None:
            raise NoSigningKeyError("no keyring: checkpoints cannot be signed")
        actor.require_role(Role.SECRETARIAT, Role.ADMIN, Role.SYSTEM)
        previous = self.checkpoints()
        covered = previous[-1]["tree_size"] if previous else 0
        self._require_sound(entries[covered - 1][0] + 1 if 0 < covered <= len(entries) else 1)
        leaves = [leaf for _, leaf in entries]
        ctx = self.context(actor)
        signed_at = rfc3339(ctx.now)
        size, digest = len(leaves), root(leaves).hex()
        head: dict[str, Any] = {"tree_size": size, "root": digest, "signed_at": signed_at}
        kid = self.keyring.current_id()
        if kid is None:
            raise NoSigningKeyError("no signing key yet: run `council keys init`")
        signed = self.keyring.sign(checkpoint_message(size, digest, signed_at, kid))
        if signed is None:
            raise NoSigningKeyError("no signing key yet: run `council keys init`")
        head["key_id"], head["signature"] = signed
        ledger = self._peek(ledger_id())
        if ledger is None:
            ledger = Ledger.open(ctx)
        else:
            ledger = self._load(ledger_id(), "ledger")
        ledger.record(head, ctx)
        receipt = self._save(ledger)[-1]
        return {**head, "position": receipt.notification_id}, receipt

    def _require_sound(self, start: int) -> None:
        """Refuse (UnsoundLogError, naming it) when an event from position `start` on does not carry its own hash
        and the council's seal: a checkpoint vouches that every event it covers was written by the services."""
        while page := self.recorder.scan(start, PAGE):  # type: ignore[attr-defined]
            for row in page:
                problem = self._row_problem(row)
                if problem is not None:
                    position, stream, version = row[0], row[1], row[2]
                    raise UnsoundLogError(f"not signing: the event at position {position} (stream {stream}, "
                                          f"version {version}) does not hold: {problem}; run `council verify`",
                                          position=position, stream=stream, version=version)
            start = page[-1][0] + 1

    def _row_problem(self, row: Row) -> str | None:
        """Why a stored event does not carry its own hash (from its stored JSON, else decoded) or the council's
        seal; None when it does. Its link to the version before is verify's to check."""
        assert self.keyring is not None
        _position, stream, version, topic, stored = row
        state = load_plain(stored)
        digest = state.get("hash")
        if stored_hash(stream, version, topic_of(topic), state) != digest and recompute(self.row_event(row)) != digest:
            return "its hash does not match its content"
        return self.keyring.seal_problem(stream, version, str(digest), state.get("seal"))

    def row_event(self, row: Row) -> Any:
        """The domain event of a row that `recorder.scan` read."""
        position, stream, version, topic, state = row
        return self.mapper.to_domain_event(Notification(id=position, originator_id=UUID(stream),
                                                        originator_version=version, topic=topic, state=state))

    def checkpoints(self) -> list[dict[str, Any]]:
        """Every recorded checkpoint, oldest first, with the position of its event in the log."""
        found = []
        for event in self.events.get(ledger_id()):
            if isinstance(event, Ledger.CheckpointSigned):
                found.append({**checkpoint_of(event), "version": event.originator_version})
        return found

    def checkpoint(self, size: int) -> dict[str, Any]:
        """The latest checkpoint of tree size `size`."""
        for found in reversed(self.checkpoints()):
            if found["tree_size"] == size:
                return found
        raise NotFoundError(f"no checkpoint of tree size {size}")

    def log_leaves(self, size: int | None = None) -> Iterator[tuple[int, Any, bytes]]:
        """(position, event, leaf hash) of the first `size` events of the log (all with None), read from the log
        itself, never from a view."""
        count, start = 0, 1
        while size is None or count < size:
            page = self.recorder.select_notifications(start=start, limit=PAGE)
            for notification in page:
                event = self.mapper.to_domain_event(notification)
                yield notification.id, event, event_leaf(notification.id, event)
                count += 1
                if size is not None and count >= size:
                    return
            if len(page) < PAGE:
                return
            start = page[-1].id + 1


@functools.lru_cache(maxsize=512)
def topic_of(stored: str) -> str:
    """The event type's own TOPIC (what its hash covers) for the library's stored topic (the class's path)."""
    return str(getattr(resolve_topic(stored), "TOPIC", stored))
