"""The Council application's base: persistence, clock, loading by natural key, saving with receipts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from council import transcoding
from council.config import Settings
from council.evidence import EvidenceStore
from domain.base import event_type
from domain.dossier import Dossier
from domain.errors import NotFoundError, VersionConflictError
from domain.ids import dossier_id, round_id, score_id
from domain.round import Round
from domain.score import Score
from domain.values import Actor, Context


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Receipt:
    """What a write recorded: enough to find the event again and check it was not altered."""

    stream: str
    version: int
    type: str
    event_hash: str
    recorded_at: datetime
    notification_id: int


class CouncilBase(Application):
    """One application, one event log: rounds, dossiers and scores (SQLite allows one per file)."""

    name = "council"

    def __init__(self, env: dict[str, str] | None = None, clock: Callable[[], datetime] = utcnow,
                 blobs: EvidenceStore | None = None) -> None:
        self.clock = clock
        self.view_env = dict(env or {})
        self.blobs = blobs or Settings().evidence_store()
        super().__init__(env)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoding.register(transcoder)

    def context(self, actor: Actor, request_id: str | None = None) -> Context:
        now = self.clock().astimezone(UTC)  # events record UTC whatever the clock's zone
        return Context(actor=actor, request_id=request_id or uuid.uuid4().hex, now=now)

    def _load(self, stream: UUID, what: str, *, for_update: bool = True) -> Any:
        try:
            return self.repository.get(stream, deepcopy_from_cache=for_update)
        except AggregateNotFoundError:
            raise NotFoundError(f"{what} not found") from None

    def _peek(self, stream: UUID) -> Any | None:
        """An aggregate to read, not change (the cached copy, not a deep copy), or None when absent."""
        try:
            return self.repository.get(stream, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return None

    def _round(self, key: str) -> Round:
        """A round for reading only: the cached copy is shared, never changed."""
        return self._load(round_id(key), f"round {key}", for_update=False)

    def _score(self, rnd: Round, unit: str, leaf: str, ctx: Context) -> Score:
        """The score stream of a leaf, opened on its first write."""
        try:
            return self.repository.get(score_id(rnd.key, unit, leaf))
        except AggregateNotFoundError:
            return Score.open(rnd, unit, leaf, ctx)

    def _dossier(self, rnd: Round, unit: str, ctx: Context) -> Dossier:
        try:
            return self.repository.get(dossier_id(rnd.key, unit))
        except AggregateNotFoundError:
            return Dossier.open(rnd, unit, ctx)

    def _existing_score(self, round_key: str, unit: str, leaf: str) -> Score:
        return self._load(score_id(round_key, unit, leaf), f"score {round_key}/{unit}/{leaf}")

    def _save(self, *aggregates: Any) -> list[Receipt]:
        """Save in one transaction; a concurrent writer of the same stream turns into a version conflict."""
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            # Another worker saved the same stream first. The aggregate cache fast-forwards on the next
            # load, so nothing stale is kept; the client is told the version to reload.
            details = {}
            if len(aggregates) == 1:
                latest = self.recorder.select_events(aggregates[0].id, desc=True, limit=1)
                details["current_version"] = latest[0].originator_version if latest else 0
            raise VersionConflictError("another write reached this record first; reload and retry",
                                       **details) from None
        return [
            Receipt(
                stream=str(r.domain_event.originator_id),
                version=r.domain_event.originator_version,
                type=event_type(r.domain_event),
                event_hash=r.domain_event.hash,  # type: ignore[attr-defined]
                recorded_at=r.domain_event.timestamp,  # type: ignore[attr-defined]
                notification_id=r.notification.id,
            )
            for r in recordings
        ]
