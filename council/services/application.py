"""The Council application's base: persistence, clock, loading by natural key, saving with receipts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, InternalError, JSONTranscoder, Mapper

from council.infra import transcodings
from council.infra.blobs import BlobStore
from council.infra.clock import Clock, utcnow
from council.infra.keyring import Keyring
from council.infra.recorders import PRINCIPAL_CHANGED, PrincipalChangedError
from council.services.request_scope import current_request_id
from council.services.write_guard import Claim, Guard, Pending, current_guard
from domain.base import event_type
from domain.blob import Blob
from domain.dossier import Dossier
from domain.errors import NotFoundError, PrincipalRevokedError, VersionConflictError
from domain.ids import dossier_id, round_id, score_id
from domain.integrity import GENESIS, link_problem
from domain.round import Round
from domain.score import Score
from domain.values import Actor, Context, ScoreAddress


@dataclass(frozen=True)
class Receipt:
    """What a write recorded: enough to find the event again and check it was not altered."""

    stream: str
    version: int
    type: str
    event_hash: str
    recorded_at: datetime
    notification_id: int
    request_id: str


class CouncilBase(Application):
    """One application, one event log: rounds, dossiers and scores (SQLite allows one per file).

    Built only by `council.bootstrap`, which hands it the persistence settings, the blob store and the clock.
    """

    name = "council"

    def __init__(self, env: Mapping[str, str], blobs: BlobStore, clock: Clock = utcnow,
                 keyring: Keyring | None = None) -> None:
        self.clock = clock
        self.blobs = blobs
        self.keyring = keyring  # checks receipts' signatures; None only where no receipt is checked (db init)
        super().__init__(dict(env))

    def construct_mapper(self) -> Mapper:  # type: ignore[type-arg]
        return transcodings.SealingMapper(self.construct_transcoder(), self.keyring)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcodings.register(transcoder)

    def seal_problem(self, event: Any) -> str | None:
        """Why an event's seal is not the council's (docs/decisions/0011), or None when it is."""
        if self.keyring is None:
            return "no keyring to check the event's seal with"
        return self.keyring.seal_problem(event.originator_id, event.originator_version, event.hash,
                                         getattr(event, "seal", None))

    def first_unsound(self, events: Iterable[Any]) -> tuple[Any, str] | None:
        """The first event of one stream whose link, hash or seal does not hold, with why; None when all hold."""
        expected_prev = GENESIS
        for event in events:
            problem = link_problem(event, expected_prev) or self.seal_problem(event)
            if problem:
                return event, problem
            expected_prev = event.hash
        return None

    def context(self, actor: Actor) -> Context:
        """Who acts, now (UTC whatever the clock's zone), under the request in progress."""
        return Context(actor=actor, request_id=current_request_id(), now=self.clock().astimezone(UTC))

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

    def _existing_score(self, at: ScoreAddress) -> Score:
        return self._load(score_id(at.round_key, at.unit, at.leaf), f"score {at}")

    def _save(self, *aggregates: Any, final: bool = True) -> list[Receipt]:
        """Save in one transaction, with the request's write guard (its Idempotency-Key on the command's final
        save, its principal's check on every save); a concurrent writer of the same stream turns into a version
        conflict. `final=False` marks the intermediate saves of a command that saves several times."""
        pending = self._pending(aggregates, final)
        try:
            recordings = self.save(*aggregates, pending=pending) if pending else self.save(*aggregates)
        except (IntegrityError, InternalError, PrincipalChangedError) as error:
            raise self._refusal(error, aggregates, pending) from None
        return [
            Receipt(
                stream=str(r.domain_event.originator_id),
                version=r.domain_event.originator_version,
                type=event_type(r.domain_event),
                event_hash=r.domain_event.hash,  # type: ignore[attr-defined]
                recorded_at=r.domain_event.timestamp,  # type: ignore[attr-defined]
                notification_id=r.notification.id,
                request_id=r.domain_event.request_id,  # type: ignore[attr-defined]
            )
            for r in recordings
        ]

    def _pending(self, aggregates: tuple[Any, ...], final: bool) -> Pending | None:
        guard = current_guard()
        if guard is None or (guard.principal_stream is None and (guard.claim is None or not final)):
            return None
        if not final:
            guard = Guard(principal_stream=guard.principal_stream, principal_version=guard.principal_version)
        pending = Pending(guard, current_request_id())
        pending.stubs = [receipt_stub(aggregate, event) for aggregate in aggregates
                         for event in getattr(aggregate, "pending_events", ())]
        return pending

    def _refusal(self, error: Exception, aggregates: tuple[Any, ...], pending: Pending | None) -> Exception:
        """Why a save was refused: the principal changed, the key was claimed first, or a concurrent write."""
        if isinstance(error, PrincipalChangedError) or PRINCIPAL_CHANGED in str(error):
            return PrincipalRevokedError("this principal was revoked, or its token replaced, during the request")
        if not isinstance(error, IntegrityError):
            raise error
        details = {}
        if len(aggregates) == 1:
            latest = self.recorder.select_events(aggregates[0].id, desc=True, limit=1)
            details["current_version"] = latest[0].originator_version if latest else 0
        claim = pending.guard.claim if pending else None
        if claim is not None:
            return KeyClaimedError(claim, **details)  # the API answers with the twin's outcome, if it finds one
        return VersionConflictError("another write reached this record first; reload and retry", **details)


class KeyClaimedError(VersionConflictError):
    """A save refused while the request held an Idempotency-Key: a twin with the same key may have been recorded
    first (the API then replays its answer); otherwise it is the version conflict it says it is."""

    def __init__(self, claim: Claim, **details: Any) -> None:
        super().__init__("another write reached this record first; reload and retry", **details)
        self.claim = claim


def receipt_stub(aggregate: Any, event: Any) -> dict[str, Any]:
    """A receipt without its notification id (the insert assigns it), and what a replayed answer needs."""
    stub = {"stream": str(event.originator_id), "version": event.originator_version, "type": event_type(event),
            "event_hash": event.hash, "recorded_at": event.timestamp.isoformat(), "request_id": event.request_id}
    for name in ("explanation_id",):
        if getattr(event, name, None) is not None:
            stub[name] = getattr(event, name)
    if isinstance(aggregate, Blob):
        stub |= {"sha256": aggregate.sha256, "size": aggregate.size, "media_type": aggregate.media_type}
    return stub
