"""Appraisal services: proposals, council adjustments, explanation reports and decisions, survey points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from council.application import CouncilBase, Receipt
from domain.values import Actor


class AppraisalServices(CouncilBase):
    def propose(self, key: str, unit: str, leaf: str, points: object, expected_version: int, actor: Actor,
                comment: str = "", request_id: str | None = None) -> Receipt:
        rnd, ctx = self._round(key), self.context(actor, request_id)
        score = self._score(rnd, unit, leaf, ctx)
        score.propose(points, comment, expected_version, rnd, ctx)
        return self._save(score)[-1]

    def propose_many(self, key: str, unit: str, proposals: Sequence[Mapping[str, Any]], actor: Actor,
                     request_id: str | None = None) -> list[Receipt]:
        """The Secretariat's preliminary scores for one unit in one transaction: all or none."""
        rnd, ctx = self._round(key), self.context(actor, request_id)
        scores = []
        for proposal in proposals:
            score = self._score(rnd, unit, proposal["leaf"], ctx)
            score.propose(proposal["points"], proposal.get("comment", ""), proposal["expected_version"], rnd, ctx)
            scores.append(score)
        return self._save(*scores)

    def adjust(self, key: str, unit: str, leaf: str, points: object, reason: str, expected_version: int,
               actor: Actor, request_id: str | None = None) -> Receipt:
        rnd, ctx = self._round(key), self.context(actor, request_id)
        score = self._existing_score(key, unit, leaf)
        score.adjust(points, reason, expected_version, rnd, ctx)
        return self._save(score)[-1]

    def file_explanation(self, key: str, unit: str, leaf: str, argument: str, actor: Actor,
                         requested_points: object | None = None, evidence: Sequence[str] = (),
                         request_id: str | None = None) -> tuple[str, Receipt]:
        rnd, ctx = self._round(key), self.context(actor, request_id)
        score = self._existing_score(key, unit, leaf)
        explanation_id = score.file_explanation(argument, requested_points, evidence, rnd, ctx)
        return explanation_id, self._save(score)[-1]

    def decide_explanation(self, key: str, unit: str, leaf: str, explanation_id: str, accept: bool, reason: str,
                           expected_version: int, actor: Actor, points: object | None = None,
                           request_id: str | None = None) -> Receipt:
        rnd, ctx = self._round(key), self.context(actor, request_id)
        score = self._existing_score(key, unit, leaf)
        score.decide_explanation(explanation_id, accept, points, reason, expected_version, rnd, ctx)
        return self._save(score)[-1]

    def import_survey(self, key: str, rows: Sequence[Mapping[str, Any]], source: str, actor: Actor,
                      request_id: str | None = None) -> list[Receipt]:
        """Survey rows (unit, leaf, points) of many units: one transaction per unit, units in file order."""
        by_unit: dict[str, dict[str, object]] = {}
        for row in rows:
            by_unit.setdefault(row["unit"], {})[row["leaf"]] = row["points"]
        receipts = []
        for unit, points in by_unit.items():
            receipts += self.record_survey(key, unit, points, actor, source, request_id=request_id)
        return receipts

    def record_survey(self, key: str, unit: str, points: Mapping[str, object], actor: Actor, source: str,
                      request_id: str | None = None) -> list[Receipt]:
        """Survey points of one unit, leaf → points, in one transaction."""
        rnd, ctx = self._round(key), self.context(actor, request_id)
        rnd.unit(unit)
        scores = []
        for leaf, value in points.items():
            score = self._score(rnd, unit, leaf, ctx)
            score.record_survey(value, source, rnd, ctx)
            scores.append(score)
        return self._save(*scores)
