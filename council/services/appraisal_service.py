"""Appraisal services: proposals, council adjustments, explanation reports and decisions, survey points."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from council.services.application import CouncilBase, Receipt
from domain.round import Round
from domain.score import Score
from domain.values import Actor, Context, Role, ScoreAddress


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
