"""The fold behind every view: events applied to cached aggregates, turned into rows (domain code only)."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.base import event_type, reason_of
from domain.ids import round_id
from domain.integrity import canonical
from domain.round import Round
from domain.score import OPEN, Score
from projections.ledger_format import event_leaf
from projections.rows import AuditRow, DisputeDecision, DisputeRow, LedgerRow, RoundRow, ScoreRow, WindowMove

DECISIONS = {"explanation-accepted": "accepted", "explanation-rejected": "rejected"}


@dataclass
class Rows:
    """What a batch of events changes: the last row per key wins; audit rows are appended."""

    scores: dict[tuple[str, str, str], ScoreRow] = field(default_factory=dict)
    rounds: dict[str, RoundRow] = field(default_factory=dict)
    disputes: dict[tuple[str, str, str, str], DisputeRow] = field(default_factory=dict)
    decisions: list[DisputeDecision] = field(default_factory=list)
    windows: list[WindowMove] = field(default_factory=list)
    audit: list[AuditRow] = field(default_factory=list)
    ledger: list[LedgerRow] = field(default_factory=list)
    # The last (score, event) per key; turned into `scores` rows once, by `finish`, not once per event.
    latest: dict[tuple[str, str, str], tuple[Any, Any]] = field(default_factory=dict)

    def finish(self) -> Rows:
        """Build the score rows of the batch: the aggregate is as its key's last event left it."""
        for key, (score, event) in self.latest.items():
            self.scores[key] = score_row(score, event)
        self.latest.clear()
        return self


class Fold:
    """Keeps the aggregates it has seen; an aggregate not seen yet (a runner restarted mid-log) is loaded
    as of the version before the event, through `load`.

    The cache is only as good as the position it was built at (`at`): a batch that does not start there (another
    writer moved the view meanwhile) starts from an empty cache, and a cached aggregate is used only when it
    directly precedes the event (`version + 1`), otherwise it is loaded again."""

    def __init__(self, load: Callable[[UUID, int | None], Any], limit: int = 50_000) -> None:
        self.load = load
        self.limit = limit
        self.cache: OrderedDict[UUID, Any] = OrderedDict()
        self.at: int | None = None  # the log position the cached aggregates are exact at (None: unknown)

    def start(self, position: int | None) -> None:
        """A batch folded on top of `position` (None: the caller vouches for the cache, as the library's runner
        does, one event at a time)."""
        if position is not None and position != self.at:
            self.forget()

    def forget(self) -> None:
        self.cache.clear()
        self.at = None

    def apply(self, position: int, event: Any, rows: Rows) -> None:
        stream, version = event.originator_id, event.originator_version
        before = self.cache.pop(stream, None)
        if before is not None and before.version != version - 1:
            before = None  # older or newer than the event needs: never trusted
        if before is None and version > 1:
            before = self.load(stream, version - 1)
        points_before = getattr(before, "points", None)
        aggregate = event.mutate(before)
        self._remember(stream, aggregate)
        self.at = position
        kind = event_type(event)
        rows.audit.append(audit_row(position, event, aggregate, points_before, kind))
        rows.ledger.append(LedgerRow(position, str(stream), version, event.hash,  # type: ignore[attr-defined]
                                     event_leaf(position, event).hex()))
        if isinstance(aggregate, Score):
            rows.latest[(aggregate.round_key, aggregate.unit, aggregate.leaf)] = (aggregate, event)
            if kind == "explanation-filed" or kind in DECISIONS:
                key = (aggregate.round_key, aggregate.unit, aggregate.leaf, getattr(event, "explanation_id", ""))
                if kind == "explanation-filed":
                    closes = self._round(aggregate.round_key).closes_at("explanation", aggregate.unit)
                    rows.disputes[key] = filing_row(key, event, closes.astimezone(UTC).isoformat())
                else:
                    rows.decisions.append(decision_row(key, event))
        elif isinstance(aggregate, Round):
            rows.rounds[aggregate.key] = round_row(aggregate)
            if kind == "window-extended" and event.window == "explanation":
                units = [event.unit] if event.unit else list(aggregate.units)
                rows.windows += [WindowMove(aggregate.closes_at("explanation", unit).astimezone(UTC).isoformat(),
                                            aggregate.key, unit) for unit in units]

    def _remember(self, stream: UUID, aggregate: Any) -> None:
        self.cache[stream] = aggregate
        if len(self.cache) > self.limit:
            self.cache.popitem(last=False)

    def _round(self, key: str) -> Round:
        stream = round_id(key)
        found = self.cache.get(stream)
        return found if found is not None else self.load(stream, None)


def audit_row(position: int, event: Any, aggregate: Any, points_before: Decimal | None, kind: str) -> AuditRow:
    actor = event.actor
    role = actor.role
    return AuditRow(
        position=position, stream=str(event.originator_id),
        round_key=_text_attr(aggregate, "round_key") or _text_attr(aggregate, "key"),
        unit=_text_attr(aggregate, "unit"), leaf=_text_attr(aggregate, "leaf"), version=event.originator_version,
        type=kind, actor=actor.id, role=str(role.value if hasattr(role, "value") else role),
        recorded_at=event.timestamp.isoformat(), points_before=_text(points_before),
        points_after=_text(getattr(aggregate, "points", None)), reason=reason_of(event), hash=event.hash,
        request_id=event.request_id,
    )


def score_row(score: Score, event: Any) -> ScoreRow:
    return ScoreRow(
        round_key=score.round_key, unit=score.unit, leaf=score.leaf, field=score.field, method=score.method,
        max_points=_text(score.max_points), self_points=_text(score.self_points),
        proposed_points=_text(score.proposed_points), adjusted_points=_text(score.adjusted_points),
        points=_text(score.points), final_points=_text(score.final_points), status=score.status,
        evidence_count=len(score.evidence),
        open_explanations=sum(1 for state in score.explanations.values() if state == OPEN),
        version=score.version, updated_at=event.timestamp.isoformat(),
    )


def round_row(round_: Round) -> RoundRow:
    units = [canonical(unit) for unit in round_.units.values()]
    return RoundRow(
        round_key=round_.key, year=round_.year, level=round_.level, phase=round_.phase,
        units=json.dumps(units, ensure_ascii=False), thresholds=json.dumps(canonical(round_.thresholds)),
        framework=json.dumps(round_.framework_data, ensure_ascii=False), version=round_.version,
    )


def filing_row(key: tuple[str, str, str, str], event: Any, window_closes_at: str) -> DisputeRow:
    return DisputeRow(*key, state="open", argument=event.argument, requested_points=_text(event.requested_points),
                      filed_at=event.timestamp.isoformat(), filed_by=event.actor.id,
                      window_closes_at=window_closes_at)


def decision_row(key: tuple[str, str, str, str], event: Any) -> DisputeDecision:
    return DisputeDecision(DECISIONS[event_type(event)], event.timestamp.isoformat(), event.actor.id, event.reason,
                           _text(getattr(event, "points", None)), *key)


def _text_attr(aggregate: Any, name: str) -> str | None:
    """A plain text attribute of the aggregate (Round.unit is a method, not a unit code)."""
    value = getattr(aggregate, name, None)
    return value if isinstance(value, str) else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
