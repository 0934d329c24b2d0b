"""Self-assessment services: a unit scores its leaves, attaches evidence, explains gaps, submits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from council.services.application import CouncilBase, Receipt
from council.services.evidence_service import document_from_store
from domain.ids import score_id
from domain.values import Actor, ScoreAddress


class SelfAssessmentServices(CouncilBase):
    def self_score(self, at: ScoreAddress, points: object, actor: Actor, note: str = "") -> Receipt:
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._score(rnd, at.unit, at.leaf, ctx)
        score.self_score(points, rnd, ctx, note=note)
        return self._save(score)[-1]

    def self_assess(self, key: str, unit: str, entries: Sequence[Mapping[str, Any]], actor: Actor) -> list[Receipt]:
        """A whole self-assessment form in one transaction: each entry scores a leaf, with evidence
        (references to files the unit stored: sha256, name, number, issued_on, issuer) or an explanation of
        missing evidence. All entries are recorded, or none."""
        rnd, ctx = self._round(key), self.context(actor)
        scores = []
        found: dict = {}  # the stored files this form cites, each looked up once
        for entry in entries:
            score = self._score(rnd, unit, entry["leaf"], ctx)
            score.self_score(entry["points"], rnd, ctx, note=entry.get("note", ""))
            for document in entry.get("evidence", ()):
                score.attach_evidence(document_from_store(self, document, unit, actor, found), rnd, ctx)
            if entry.get("missing_evidence"):
                score.explain_missing_evidence(entry["missing_evidence"], rnd, ctx)
            scores.append(score)
        return self._save(*scores)

    def attach_evidence(self, at: ScoreAddress, document: Mapping[str, Any], actor: Actor) -> Receipt:
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._score(rnd, at.unit, at.leaf, ctx)
        score.require_evidence_writer(rnd, ctx)
        score.attach_evidence(document_from_store(self, document, at.unit, actor), rnd, ctx)
        return self._save(score)[-1]

    def withdraw_evidence(self, at: ScoreAddress, sha256: str, reason: str, actor: Actor) -> Receipt:
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._existing_score(at)
        score.withdraw_evidence(sha256, reason, rnd, ctx)
        return self._save(score)[-1]

    def explain_missing_evidence(self, at: ScoreAddress, explanation: str, actor: Actor) -> Receipt:
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._score(rnd, at.unit, at.leaf, ctx)
        score.explain_missing_evidence(explanation, rnd, ctx)
        return self._save(score)[-1]

    def submit(self, key: str, unit: str, approved_by: str, report: Mapping[str, Any], actor: Actor) -> Receipt:
        """Submit the self-assessment; refused while any appraisal leaf lacks a backed score."""
        rnd, ctx = self._round(key), self.context(actor)
        dossier = self._dossier(rnd, unit, ctx)
        incomplete = [leaf.code for leaf in rnd.framework.leaves("appraisal")
                      if not self._is_complete(key, unit, leaf.code)]
        dossier.submit(approved_by, document_from_store(self, report, unit, actor), incomplete, rnd, ctx)
        return self._save(dossier)[-1]

    def _is_complete(self, key: str, unit: str, leaf: str) -> bool:
        score = self._peek(score_id(key, unit, leaf))
        return score is not None and bool(score.is_complete)
