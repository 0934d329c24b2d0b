"""The fold behind every view: events applied to cached aggregates, turned into rows (domain code only).

Two ways in, the same rows out:

- `Fold.apply` takes a domain event and moves its aggregate with the domain's own `mutate` (the library's runner,
  a runner catching up live).
- `Fold.apply_stored` takes a page of stored events as the log keeps them, (position, stream, version, topic,
  JSON state), without the library's Notification and DomainEvent objects (a rebuild: issue 13). The JSON is
  parsed once; the audit and ledger rows are taken from it as stored, and Score streams (nearly every event of a
  round) are followed by `ScoreState`, which does to the columns the views show what each Score event's `apply`
  does to the aggregate (SCORE_EVENTS, beside domain/score.py). Every other stream, an event class the table
  does not name, an upcast class and a state not in the form the council stores it go through `apply`, decoded
  by the mapper. A rebuild (this way) and the views kept live (`apply`) are compared table for table by the tests.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from eventsourcing.utils import resolve_topic

from domain.base import REASON_FIELDS, event_type, reason_of
from domain.ids import round_id
from domain.integrity import canonical
from domain.round import Round
from domain.score import ACCEPTED, OPEN, REJECTED, Score
from domain.values import Role
from projections.ledger_format import event_leaf, fast_leaf
from projections.rows import AuditRow, DisputeDecision, DisputeRow, LedgerRow, RoundRow, ScoreRow, WindowMove

DECISIONS = {"explanation-accepted": "accepted", "explanation-rejected": "rejected"}
if REASON_FIELDS != ("reason", "comment", "argument", "explanation", "note"):  # apply_stored reads them in this order
    raise ImportError("domain.base.REASON_FIELDS changed: update Fold.apply_stored")
# One stored event as the recorder's `scan` reads it: position, stream (a lower-case UUID with hyphens), version,
# the library's topic, the stored JSON state.
StoredRow = tuple[int, str, int, str, bytes]


@dataclass
class Rows:
    """What a batch of events changes: the last row per key wins; audit and ledger rows are appended (as their
    row types, or as plain tuples in the same column order)."""

    scores: dict[tuple[str, str, str], ScoreRow] = field(default_factory=dict)
    rounds: dict[str, RoundRow] = field(default_factory=dict)
    disputes: dict[tuple[str, str, str, str], DisputeRow] = field(default_factory=dict)
    decisions: list[DisputeDecision] = field(default_factory=list)
    windows: list[WindowMove] = field(default_factory=list)
    audit: list[tuple[Any, ...]] = field(default_factory=list)
    ledger: list[tuple[Any, ...]] = field(default_factory=list)
    # The last (score, event) per key, or (ScoreState, recorded_at); turned into `scores` rows once, by `finish`.
    latest: dict[tuple[str, str, str], tuple[Any, Any]] = field(default_factory=dict)

    def finish(self) -> Rows:
        """Build the score rows of the batch: the aggregate is as its key's last event left it."""
        for key, (score, event) in self.latest.items():
            self.scores[key] = score.row(event) if isinstance(score, ScoreState) else score_row(score, event)
        self.latest.clear()
        return self


class Fold:
    """Keeps the aggregates it has seen (by stream, a lower-case UUID with hyphens); an aggregate not seen yet (a
    runner restarted mid-log) is loaded as of the version before the event, through `load`.

    The cache is only as good as the position it was built at (`at`): a batch that does not start there (another
    writer moved the view meanwhile) starts from an empty cache, and a cached aggregate is used only when it
    directly precedes the event (`version + 1`), otherwise it is loaded again. `decode` turns a stored row into its
    domain event (for `apply_stored`)."""

    def __init__(self, load: Callable[[UUID, int | None], Any], limit: int = 50_000,
                 decode: Callable[[StoredRow], Any] | None = None) -> None:
        self.load = load
        self.decode = decode
        self.limit = limit
        self.cache: OrderedDict[str, Any] = OrderedDict()
        self.at: int | None = None  # the log position the cached aggregates are exact at (None: unknown)
        self._kinds: dict[str, _Kind] = {}

    def start(self, position: int | None) -> None:
        """A batch folded on top of `position` (None: the caller vouches for the cache, as the library's runner
        does, one event at a time)."""
        if position is not None and position != self.at:
            self.forget()

    def forget(self) -> None:
        self.cache.clear()
        self.at = None

    def apply(self, position: int, event: Any, rows: Rows) -> None:
        stream, version = str(event.originator_id), event.originator_version
        before = self.cache.pop(stream, None)
        if before is not None and (isinstance(before, ScoreState) or before.version != version - 1):
            before = None  # older or newer than the event needs, or not an aggregate: never trusted
        if before is None and version > 1:
            before = self.load(event.originator_id, version - 1)
        points_before = getattr(before, "points", None)
        aggregate = event.mutate(before)
        self._remember(stream, aggregate)
        self.at = position
        kind = event_type(event)
        rows.audit.append(audit_row(position, event, aggregate, points_before, kind))
        rows.ledger.append(LedgerRow(position, stream, version, event.hash,  # type: ignore[attr-defined]
                                     _leaf(position, stream, version, event).hex()))
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

    def apply_stored(self, page: Sequence[StoredRow], rows: Rows) -> None:
        """Fold a page of stored events (in position order) into `rows`: the same rows `apply` makes of their
        domain events."""
        kinds, cache, loads = self._kinds, self.cache, orjson.loads
        audit, ledger, latest = rows.audit.append, rows.ledger.append, rows.latest
        for row in page:
            position, stream, version, topic, state = row
            kind = kinds.get(topic) or self._kind(topic)
            handler = kind.handler
            if handler is None:
                self._apply_decoded(row, rows)
                continue
            if (version == 1) is not (handler is _opened):
                self._apply_decoded(row, rows)  # a stream opened twice, or not opened: as the domain has it
                continue
            before = None if version == 1 else cache.get(stream)
            if version > 1 and (type(before) is not ScoreState or before.version != version - 1):
                before = self._score_before(stream, version - 1)
                if before is None:
                    self._apply_decoded(row, rows)
                    continue
            try:
                data = loads(state)
                recorded_at, (actor, role) = _iso(data["timestamp"]), _actor(data["actor"])
                event_hash, request_id = data["hash"], data["request_id"]
                # reason_of: the first of REASON_FIELDS the event has and is not empty
                reason = (data.get("reason") or data.get("comment") or data.get("argument")
                          or data.get("explanation") or data.get("note") or "")
                if type(reason) is not str or type(request_id) is not str or type(event_hash) is not str \
                        or not (event_hash.isascii() and event_hash.encode().isalnum()):  # fast_leaf's hash
                    raise _Unusual
                if before is None:  # version 1: opened
                    points_before, score = None, handler(None, data)
                else:
                    points_before, score = before.points, before
                    handler(score, data)
            except (_Unusual, KeyError, TypeError, ValueError, ArithmeticError):
                self._apply_decoded(row, rows)  # decoded, it fails as the domain fails, or folds as it folds
                continue
            score.version = version
            cache[stream] = score
            cache.move_to_end(stream)
            self.at = position
            round_key, unit, leaf = score.shown
            audit((position, stream, round_key, unit, leaf, version, kind.type, actor, role, recorded_at,
                   points_before, score.points, reason, event_hash, request_id))
            ledger((position, stream, version, event_hash, fast_leaf(position, stream, version, event_hash).hex()))
            latest[score.key] = (score, recorded_at)
            if kind.dispute:
                self._dispute(kind.type, score, data, recorded_at, actor, rows)
        if len(cache) > self.limit:
            for _ in range(len(cache) - self.limit):
                cache.popitem(last=False)

    def _kind(self, topic: str) -> _Kind:
        """How events of a stored topic are folded: Score events the mirror lists (not upcast) the fast way."""
        cls = resolve_topic(topic)
        handler = SCORE_EVENTS.get(cls) if getattr(cls, "class_version", 1) == 1 else None
        if handler is not None and any(name in vars(klass) for klass in cls.__mro__ for name in REASON_FIELDS):
            handler = None  # a why kept as a class attribute: `reason_of` reads it, the stored state does not
        name = str(cls.TOPIC).rsplit(":", 1)[-1]  # event_type of its events
        kind = _Kind(name, handler, name == "explanation-filed" or name in DECISIONS)
        self._kinds[topic] = kind
        return kind

    def _score_before(self, stream: str, version: int) -> ScoreState | None:
        """The ScoreState of a stream at `version`, from its cached Score aggregate or loaded; None when the
        stream is not a Score."""
        found = self.cache.get(stream)
        if not (isinstance(found, Score) and found.version == version):
            found = self.load(UUID(stream), version)
        return ScoreState.of(found) if isinstance(found, Score) else None

    def _apply_decoded(self, row: StoredRow, rows: Rows) -> None:
        if self.decode is None:
            raise TypeError("this fold was given no decoder for stored events")
        self.apply(row[0], self.decode(row), rows)

    def _dispute(self, kind: str, score: ScoreState, data: dict[str, Any], recorded_at: str, actor: str,
                 rows: Rows) -> None:
        """The disputes rows of an explanation event, as `apply` makes them (filing_row, decision_row)."""
        key = (score.round_key, score.unit, score.leaf, data.get("explanation_id", ""))
        if kind == "explanation-filed":
            closes = self._round(score.round_key).closes_at("explanation", score.unit)
            rows.disputes[key] = DisputeRow(*key, state="open", argument=data["argument"],
                                            requested_points=_points_or_none(data["requested_points"]),
                                            filed_at=recorded_at, filed_by=actor,
                                            window_closes_at=closes.astimezone(UTC).isoformat())
        else:
            rows.decisions.append(DisputeDecision(DECISIONS[kind], recorded_at, actor, data["reason"],
                                                  _points_or_none(data.get("points")), *key))

    def _remember(self, stream: str, aggregate: Any) -> None:
        self.cache[stream] = aggregate
        if len(self.cache) > self.limit:
            self.cache.popitem(last=False)

    def _round(self, key: str) -> Round:
        stream = round_id(key)
        found = self.cache.get(str(stream))
        return found if isinstance(found, Round) else self.load(stream, None)


class ScoreState:
    """A Score stream as the views show it, with points as the exact decimal text the log stores
    (`str(Decimal)` of it): what `score_row` and `audit_row` read of a Score aggregate, moved by SCORE_EVENTS."""

    __slots__ = ("adjusted_points", "evidence", "explanations", "field", "final_points", "key", "leaf",
                 "max_points", "method", "points", "proposed_points", "round_key", "self_points", "shown", "status",
                 "unit", "version")

    def __init__(self, round_key: str, unit: str, leaf: str, field: str, method: str, max_points: str | None
                 ) -> None:
        self.round_key, self.unit, self.leaf, self.field, self.method = round_key, unit, leaf, field, method
        self.max_points = max_points
        self.self_points: str | None = None
        self.proposed_points: str | None = None
        self.adjusted_points: str | None = None
        self.points: str | None = None
        self.final_points: str | None = None
        self.status = "open"
        self.evidence: set[str] = set()
        self.explanations: dict[str, str] = {}
        self.version = 1
        self.key = (round_key, unit, leaf)
        # the audit row's round_key, unit and leaf, as `audit_row` takes them from the aggregate
        self.shown = (_text_attr(self, "round_key") or None, _text_attr(self, "unit"), _text_attr(self, "leaf"))

    @classmethod
    def of(cls, score: Score) -> ScoreState:
        state = cls(score.round_key, score.unit, score.leaf, score.field, score.method, _text(score.max_points))
        state.self_points, state.proposed_points = _text(score.self_points), _text(score.proposed_points)
        state.adjusted_points, state.points = _text(score.adjusted_points), _text(score.points)
        state.final_points, state.status = _text(score.final_points), score.status
        state.evidence, state.explanations = set(score.evidence), dict(score.explanations)
        state.version = score.version
        return state

    def row(self, recorded_at: str) -> ScoreRow:
        """`score_row` of the aggregate, `recorded_at` the time of its last event."""
        return ScoreRow(self.round_key, self.unit, self.leaf, self.field, self.method, self.max_points,
                        self.self_points, self.proposed_points, self.adjusted_points, self.points, self.final_points,
                        self.status, len(self.evidence),
                        sum(1 for state in self.explanations.values() if state == OPEN), self.version, recorded_at)


# What each Score event's `apply` does to the columns the views show (domain/score.py), on the stored state: a
# handler reads everything it needs before it changes anything, so a state it cannot read (KeyError, _Unusual)
# leaves the ScoreState as it was and the event is decoded and applied by the domain instead.


def _opened(score: ScoreState | None, data: dict[str, Any]) -> ScoreState:
    return ScoreState(data["round_key"], data["unit"], data["leaf"], data["field"], data["method"],
                      _points_or_none(data["max_points"]))


def _self_scored(score: ScoreState, data: dict[str, Any]) -> None:
    points = _points(data["points"])
    score.self_points = score.points = points
    score.status = "self_scored"


def _evidence_attached(score: ScoreState, data: dict[str, Any]) -> None:
    document = data["document"]
    if document["_type_"] != "document" or len(document) != 2:
        raise _Unusual
    sha256 = document["_data_"]["sha256"]
    if type(sha256) is not str or not _HEX64(sha256):
        raise _Unusual  # the domain's Document refuses it: decoded, the event fails there
    score.evidence.add(sha256)


def _evidence_withdrawn(score: ScoreState, data: dict[str, Any]) -> None:
    score.evidence.remove(data["sha256"])  # KeyError: decoded, the domain's `del` fails the same way


def _missing_evidence_explained(score: ScoreState, data: dict[str, Any]) -> None:
    """The note is not shown by any view."""


def _appraisal_proposed(score: ScoreState, data: dict[str, Any]) -> None:
    points = _points(data["points"])
    score.proposed_points = score.points = points
    score.status = "proposed"


def _council_adjusted(score: ScoreState, data: dict[str, Any]) -> None:
    points = _points(data["points"])
    score.adjusted_points = score.points = points
    score.status = "adjusted"


def _explanation(score: ScoreState, data: dict[str, Any], state: str, status: str) -> None:
    explanation_id = data["explanation_id"]
    if type(explanation_id) is not str:
        raise _Unusual
    score.explanations[explanation_id] = state
    score.status = status


def _explanation_filed(score: ScoreState, data: dict[str, Any]) -> None:
    _explanation(score, data, OPEN, "disputed")


def _explanation_accepted(score: ScoreState, data: dict[str, Any]) -> None:
    points = _points(data["points"])
    _explanation(score, data, ACCEPTED, "explanation_accepted")
    score.adjusted_points = score.points = points


def _explanation_rejected(score: ScoreState, data: dict[str, Any]) -> None:
    _explanation(score, data, REJECTED, "explanation_rejected")


def _preliminary_accepted(score: ScoreState, data: dict[str, Any]) -> None:
    score.status = "preliminary_accepted"


def _survey_scored(score: ScoreState, data: dict[str, Any]) -> None:
    score.points = _points(data["points"])
    score.status = "survey_scored"


def _targets_scored(score: ScoreState, data: dict[str, Any]) -> None:
    score.points = _points(data["points"])
    score.status = "targets_scored"


def _finalized(score: ScoreState, data: dict[str, Any]) -> None:
    score.final_points = _points(data["points"])
    score.status = "final"


SCORE_EVENTS: dict[type[Any], Callable[[Any, dict[str, Any]], Any]] = {
    Score.Created: _opened, Score.SelfScored: _self_scored, Score.EvidenceAttached: _evidence_attached,
    Score.EvidenceWithdrawn: _evidence_withdrawn, Score.MissingEvidenceExplained: _missing_evidence_explained,
    Score.AppraisalProposed: _appraisal_proposed, Score.CouncilAdjusted: _council_adjusted,
    Score.ExplanationFiled: _explanation_filed, Score.ExplanationAccepted: _explanation_accepted,
    Score.ExplanationRejected: _explanation_rejected, Score.PreliminaryAccepted: _preliminary_accepted,
    Score.SurveyScored: _survey_scored, Score.TargetsScored: _targets_scored, Score.Finalized: _finalized,
}


class _Kind(NamedTuple):
    type: str  # event_type: the last part of the class's pinned topic
    handler: Callable[[Any, dict[str, Any]], Any] | None  # None: decoded and applied by the domain
    dispute: bool  # filed or decided explanations: rows of the disputes view too


class _Unusual(Exception):
    """A stored state not in the form the council stores: decoded and applied by the domain instead."""


_HEX64 = re.compile(r"[0-9a-f]{64}").fullmatch
_ROLES = frozenset(role.value for role in Role)
_MEMO = 100_000  # distinct timestamps and decimals remembered (a round has a few thousand of each)
_ISO: dict[str, str] = {}
_DECIMALS: dict[str, str] = {}


def _memo_text(value: Any, kind: str, memo: dict[str, str], convert: Callable[[str], str]) -> str:
    """A stored transcoded value of `kind` as text, remembered (KeyError, TypeError, _Unusual: not one)."""
    if value["_type_"] != kind or len(value) != 2:
        raise _Unusual
    text = value["_data_"]
    found = memo.get(text)
    if found is None:
        found = convert(text)
        if len(memo) >= _MEMO:
            memo.clear()
        memo[text] = found
    return found


def _iso(value: Any) -> str:
    """A stored datetime as the domain event's `timestamp.isoformat()` gives it."""
    return _memo_text(value, "datetime_iso", _ISO, lambda text: datetime.fromisoformat(text).isoformat())


def _points(value: Any) -> str:
    """A stored Decimal as `_text` of the decoded value gives it."""
    return _memo_text(value, "decimal_str", _DECIMALS, lambda text: str(Decimal(text)))


def _points_or_none(value: Any) -> str | None:
    return None if value is None else _points(value)


def _actor(value: Any) -> tuple[str, str]:
    """(id, role) of a stored actor, as the audit row takes them from the decoded Actor."""
    if value["_type_"] != "actor" or len(value) != 2:
        raise _Unusual
    data = value["_data_"]
    actor, role = data["id"], data["role"]
    if type(actor) is not str or role not in _ROLES:
        raise _Unusual
    return actor, role


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


def _leaf(position: int, stream: str, version: int, event: Any) -> bytes:
    """`event_leaf`: by `fast_leaf` when the event's hash has nothing JSON would escape (letters and digits)."""
    found = event.hash
    if type(found) is str and found.isascii() and found.encode().isalnum():
        return fast_leaf(position, stream, version, found)
    return event_leaf(position, event)


def _text_attr(aggregate: Any, name: str) -> str | None:
    """A plain text attribute of the aggregate (Round.unit is a method, not a unit code)."""
    value = getattr(aggregate, name, None)
    return value if isinstance(value, str) else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
