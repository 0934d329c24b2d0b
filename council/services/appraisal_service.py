"""Appraisal services: proposals, council adjustments, explanation reports and decisions, survey points."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from council.services.application import CouncilBase, KeyClaimedError, Receipt
from domain.errors import DomainError, NotFoundError, SurveyLeafError, VersionConflictError
from domain.framework import Node
from domain.ids import score_id
from domain.round import Round
from domain.score import Score
from domain.values import Actor, Context, Role, ScoreAddress, check_points, to_points


@dataclass(frozen=True)
class Decision:
    """The council's answer to an explanation report: accept (with new points) or reject, with a reason."""

    accept: bool
    reason: str
    points: object | None = None


@dataclass(frozen=True)
class ExplanationReport:
    """A unit's explanation report on a leaf: its argument, the points it asks for, extra evidence by hash."""

    argument: str
    requested_points: object | None = None
    evidence: Sequence[str] = field(default=())


@dataclass(frozen=True)
class SheetScope:
    """Which appraisal sheet: every appraised leaf of one unit, or of one field for every unit."""

    unit: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class SheetRow:
    """One filled row of an appraisal sheet: its row number in the sheet, the score it names, the proposal, and
    the score's version the sheet was read at (None when the cell is empty). `problem` is (type, detail) when the
    cells themselves were already found wrong where the sheet was read (a version that is not a whole number, a
    comment too long): the row is refused like any other."""

    row: int
    unit: str
    leaf: str
    points: object
    version: int | None
    comment: str = ""
    problem: tuple[str, str] | None = None


@dataclass(frozen=True)
class RowRefusal:
    """Why one row of an uploaded sheet was refused: the problem type and its detail, with the score's current
    version when the row's version was stale."""

    row: int
    unit: str
    leaf: str
    type: str
    detail: str
    current_version: int | None = None


@dataclass(frozen=True)
class SheetOutcome:
    """What an uploaded sheet did: the receipts of each unit recorded (each in its own transaction), every refused
    row (their units recorded nothing), and the rows already in the log (the same sheet uploaded again)."""

    recorded: dict[str, list[Receipt]]
    refused: list[RowRefusal]
    already_recorded: list[SheetRow]


class AppraisalServices(CouncilBase):
    def propose(self, at: ScoreAddress, points: object, expected_version: int, actor: Actor,
                comment: str = "") -> Receipt:
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._score(rnd, at.unit, at.leaf, ctx)
        score.propose(points, comment, expected_version, rnd, ctx)
        return self._save(score)[-1]

    def propose_many(self, key: str, unit: str, proposals: Sequence[Mapping[str, Any]], actor: Actor) -> list[Receipt]:
        """The Secretariat's preliminary scores for one unit in one transaction: all or none."""
        rnd, ctx = self._round(key), self.context(actor)
        scores = []
        for proposal in proposals:
            score = self._score(rnd, unit, proposal["leaf"], ctx)
            score.propose(proposal["points"], proposal.get("comment", ""), proposal["expected_version"], rnd, ctx)
            scores.append(score)
        return self._save(*scores)

    def appraisal_sheet(self, key: str, scope: SheetScope, reader: Actor) -> dict[str, Any]:
        """The lines of the Secretariat's appraisal sheet: each appraised leaf of the scope with its unit, title,
        maximum, step, self and proposed points, and the version a proposal must be made under (1 for a score
        nothing was recorded on yet: the version it has once opened, as `propose` checks it)."""
        reader.require_role(Role.SECRETARIAT)
        rnd = self._round(key)
        units = [rnd.unit(scope.unit)] if scope.unit is not None else list(rnd.units.values())
        leaves = rnd.framework.leaves("appraisal")
        if scope.field is not None:
            if scope.field not in {node.code for node in rnd.framework.fields}:
                raise NotFoundError(f"criteria tree {rnd.framework.id} has no field {scope.field!r}",
                                    field=scope.field)
            leaves = [leaf for leaf in leaves if leaf.field == scope.field]
        lines = []
        for unit in units:
            for leaf in leaves:
                score = self._peek(score_id(key, unit.code, leaf.code))
                lines.append({"unit": unit, "leaf": leaf,
                              "self_points": None if score is None else score.self_points,
                              "proposed_points": None if score is None else score.proposed_points,
                              "version": 1 if score is None else score.version})
        return {"round": key, "level": rnd.level, "phase": rnd.phase, "lines": lines}

    def propose_sheet(self, key: str, rows: Sequence[SheetRow], actor: Actor) -> SheetOutcome:
        """The Secretariat's filled appraisal sheet: every row checked (unit, leaf, points on the leaf's grid, the
        score's version, the comment a change needs), then each unit without a refused row recorded in one
        transaction, all its rows or none; a unit with a refused row records nothing. A row whose very proposal
        this principal already recorded under its version (the sheet uploaded again) is not recorded twice."""
        actor.require_role(Role.SECRETARIAT)
        rnd, ctx = self._round(key), self.context(actor)
        rnd.require_phase("appraisal")
        by_unit: dict[str, list[SheetRow]] = {}
        for row in rows:
            by_unit.setdefault(row.unit, []).append(row)
        refused: list[RowRefusal] = []
        already: list[SheetRow] = []
        ready: dict[str, dict[str, Score]] = {}
        for unit, unit_rows in by_unit.items():
            scores, unit_refused = self._sheet_unit(rnd, unit, unit_rows, ctx, already)
            refused += unit_refused
            if scores and not unit_refused:
                ready[unit] = scores
        recorded: dict[str, list[Receipt]] = {}
        for place, (unit, scores) in enumerate(ready.items(), start=1):
            try:  # the request's Idempotency-Key rides on the last save
                recorded[unit] = self._save(*scores.values(), final=place == len(ready))
            except KeyClaimedError:
                raise
            except VersionConflictError as error:  # a concurrent write reached one of the unit's scores first
                refused += [RowRefusal(row.row, unit, row.leaf, error.type, str(error)) for row in by_unit[unit]
                            if row.leaf in scores]
        return SheetOutcome(recorded, sorted(refused, key=lambda r: r.row), already)

    def _sheet_unit(self, rnd: Round, unit: str, rows: Sequence[SheetRow], ctx: Context,
                    already: list[SheetRow]) -> tuple[dict[str, Score], list[RowRefusal]]:
        """One unit's rows applied to its scores (not saved), and the rows refused."""
        try:
            rnd.unit(unit)
        except NotFoundError as error:
            return {}, [RowRefusal(row.row, unit, row.leaf, "unknown-unit", str(error)) for row in rows]
        scores: dict[str, Score] = {}
        refused: list[RowRefusal] = []
        seen: dict[str, int] = {}
        for row in rows:
            if row.problem is not None:
                refused.append(RowRefusal(row.row, unit, row.leaf, *row.problem))
                continue
            if row.leaf in seen:
                refused.append(RowRefusal(row.row, unit, row.leaf, "duplicate-row",
                                          f"leaf {row.leaf} of unit {unit} is already on row {seen[row.leaf]}"))
                continue
            seen[row.leaf] = row.row
            try:
                score = self._sheet_row(rnd, row, ctx, already)
            except DomainError as error:
                current = error.details.get("current_version")
                refused.append(RowRefusal(row.row, unit, row.leaf, error.type, str(error),
                                          current if isinstance(current, int) else None))
                continue
            if score is not None:
                scores[row.leaf] = score
        return scores, refused

    def _sheet_row(self, rnd: Round, row: SheetRow, ctx: Context, already: list[SheetRow]) -> Score | None:
        """The row's proposal applied to its score; None when this very proposal is already recorded."""
        node = _appraised_leaf(rnd, row.leaf)
        value = check_points(to_points(row.points), node.max_points, node.step, node.code)
        if row.version is None:
            raise SheetRowError("version-missing", f"leaf {row.leaf}: the row has no version; download a new sheet")
        score = self._score(rnd, row.unit, row.leaf, ctx)
        if row.version < score.version and self._proposed_under(score, row.version, value, row.comment, ctx.actor):
            already.append(row)
            return None
        score.propose(value, row.comment, row.version, rnd, ctx)
        return score

    def _proposed_under(self, score: Score, version: int, points: object, comment: str, actor: Actor) -> bool:
        """Whether the event right after `version` is this principal's proposal of these points and comment."""
        after = list(self.events.get(score.id, gt=version, lte=version + 1))
        if not after or not isinstance(after[0], Score.AppraisalProposed):
            return False
        event = after[0]
        return (event.points == points and event.comment == comment
                and getattr(getattr(event, "actor", None), "id", None) == actor.id)

    def adjust(self, at: ScoreAddress, points: object, reason: str, expected_version: int, actor: Actor) -> Receipt:
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._existing_score(at)
        score.adjust(points, reason, expected_version, rnd, ctx)
        return self._save(score)[-1]

    def file_explanation(self, at: ScoreAddress, report: ExplanationReport, actor: Actor) -> tuple[str, Receipt]:
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._existing_score(at)
        explanation_id = score.file_explanation(report.argument, report.requested_points, report.evidence, rnd, ctx)
        return explanation_id, self._save(score)[-1]

    def decide_explanation(self, at: ScoreAddress, explanation_id: str, decision: Decision, expected_version: int,
                           actor: Actor) -> Receipt:
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._existing_score(at)
        score.decide_explanation(explanation_id, decision.accept, decision.points, decision.reason, expected_version,
                                 rnd, ctx)
        return self._save(score)[-1]

    def import_survey(self, key: str, rows: Sequence[Mapping[str, Any]], source: str, actor: Actor) -> list[Receipt]:
        """Survey rows (unit, leaf, points) of many units in one transaction: all recorded, or none."""
        rnd, ctx = self._round(key), self.context(actor)
        by_unit: dict[str, dict[str, object]] = {}
        for row in rows:
            by_unit.setdefault(row["unit"], {})[row["leaf"]] = row["points"]
        scores = [score for unit, points in by_unit.items() for score in self._surveyed(rnd, unit, points, source, ctx)]
        return self._save(*scores)

    def record_survey(self, key: str, unit: str, points: Mapping[str, object], actor: Actor,
                      source: str) -> list[Receipt]:
        """Survey points of one unit, leaf → points, in one transaction."""
        rnd, ctx = self._round(key), self.context(actor)
        return self._save(*self._surveyed(rnd, unit, points, source, ctx))

    def record_targets(self, key: str, unit: str, points: Mapping[str, object], actor: Actor,
                       source: str) -> list[Receipt]:
        """Socio-economic target points of one unit, leaf → points, computed from the official statistics named in
        `source`, in one transaction (issue 12: never self-scored)."""
        actor.require_role(Role.SECRETARIAT)  # before any leaf is looked up: a stranger learns nothing of the tree
        rnd, ctx = self._round(key), self.context(actor)
        return self._save(*self._surveyed(rnd, unit, points, source, ctx, Score.record_targets))

    def _surveyed(self, rnd: Round, unit: str, points: Mapping[str, object], source: str, ctx: Context,
                  record: Callable[..., None] = Score.record_survey) -> list[Score]:
        """Each leaf's score with `record` (survey or target points from `source`) applied, not yet saved."""
        rnd.unit(unit)
        scores = []
        for leaf, value in points.items():
            score = self._score(rnd, unit, leaf, ctx)
            record(score, value, source, rnd, ctx)
            scores.append(score)
        return scores


class SheetRowError(DomainError):
    """A row of an appraisal sheet refused for what its cells lack or name wrongly (no version, a leaf the tree
    does not have), named by `type`."""

    def __init__(self, type_: str, message: str, **details: object) -> None:
        super().__init__(message, **details)
        self.type = type_


def _appraised_leaf(rnd: Round, code: str) -> Node:
    try:
        node = rnd.framework.leaf(code)
    except NotFoundError as error:
        raise SheetRowError("unknown-leaf", str(error)) from None
    if node.method != "appraisal":
        source = "the survey" if node.method == "survey" else "socio-economic targets"
        raise SurveyLeafError(f"leaf {code} is scored only from {source}, never on an appraisal sheet")
    return node
