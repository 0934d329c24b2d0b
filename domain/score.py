"""Score: the stream of one leaf of one unit in one round, the history an inspector replays."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain.base import ChainedAggregate
from domain.errors import (
    EvidenceAlreadyAttachedError,
    ExplanationAlreadyOpenError,
    ExplanationNotOpenError,
    FieldNotAssignedError,
    InvalidPointsError,
    NotFoundError,
    NotSurveyLeafError,
    NotTargetsLeafError,
    OpenExplanationsError,
    OwnMinistryError,
    ReasonRequiredError,
    SurveyLeafError,
    VersionConflictError,
    WindowOpenError,
    WrongUnitError,
)
from domain.ids import score_id
from domain.round import Round
from domain.values import Context, Document, Role, blank, check_points, to_points

OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"
ZERO = Decimal("0.00")
SILENCE = "no explanation filed by the close of the window"


class Score(ChainedAggregate):
    TOPIC = "par:score"

    class Event(ChainedAggregate.Event):
        TOPIC = "par:score:event"

    class Created(ChainedAggregate.Created):
        TOPIC = "par:score:opened"
        round_key: str
        unit: str
        leaf: str
        field: str
        max_points: Decimal
        method: str
        step: Decimal

    class SelfScored(Event):
        TOPIC = "par:score:self-scored"
        points: Decimal
        note: str

        def apply(self, score: Score) -> None:
            score.self_points = score.points = self.points
            score.status = "self_scored"

    class EvidenceAttached(Event):
        TOPIC = "par:score:evidence-attached"
        document: Document

        def apply(self, score: Score) -> None:
            score.evidence[self.document.sha256] = self.document

    class EvidenceWithdrawn(Event):
        TOPIC = "par:score:evidence-withdrawn"
        sha256: str
        reason: str

        def apply(self, score: Score) -> None:
            del score.evidence[self.sha256]

    class MissingEvidenceExplained(Event):
        TOPIC = "par:score:missing-evidence-explained"
        explanation: str

        def apply(self, score: Score) -> None:
            score.missing_evidence_note = self.explanation

    class AppraisalProposed(Event):
        TOPIC = "par:score:appraisal-proposed"
        points: Decimal
        comment: str

        def apply(self, score: Score) -> None:
            score.proposed_points = score.points = self.points
            score.status = "proposed"

    class CouncilAdjusted(Event):
        TOPIC = "par:score:council-adjusted"
        points: Decimal
        reason: str

        def apply(self, score: Score) -> None:
            score.adjusted_points = score.points = self.points
            score.status = "adjusted"

    class ExplanationFiled(Event):
        TOPIC = "par:score:explanation-filed"
        explanation_id: str
        argument: str
        requested_points: Decimal | None
        evidence: tuple[str, ...]

        def apply(self, score: Score) -> None:
            score.explanations[self.explanation_id] = OPEN
            score.status = "disputed"

    class ExplanationAccepted(Event):
        TOPIC = "par:score:explanation-accepted"
        explanation_id: str
        points: Decimal
        reason: str

        def apply(self, score: Score) -> None:
            score.explanations[self.explanation_id] = ACCEPTED
            score.adjusted_points = score.points = self.points
            score.status = "explanation_accepted"

    class ExplanationRejected(Event):
        TOPIC = "par:score:explanation-rejected"
        explanation_id: str
        reason: str

        def apply(self, score: Score) -> None:
            score.explanations[self.explanation_id] = REJECTED
            score.status = "explanation_rejected"

    class PreliminaryAccepted(Event):
        TOPIC = "par:score:preliminary-accepted"
        reason: str

        def apply(self, score: Score) -> None:
            score.preliminary_accepted = True
            score.status = "preliminary_accepted"

    class SurveyScored(Event):
        TOPIC = "par:score:survey-scored"
        points: Decimal
        source: str

        def apply(self, score: Score) -> None:
            score.points = self.points
            score.status = "survey_scored"

    class TargetsScored(Event):
        """Points of a socio-economic target leaf, computed from official statistics, with their source."""

        TOPIC = "par:score:targets-scored"
        points: Decimal
        source: str

        def apply(self, score: Score) -> None:
            score.points = self.points
            score.status = "targets_scored"

    class Finalized(Event):
        TOPIC = "par:score:finalized"
        points: Decimal

        def apply(self, score: Score) -> None:
            score.final_points = self.points
            score.status = "final"

    def __init__(self, round_key: str, unit: str, leaf: str, field: str, max_points: Decimal, method: str,
                 step: Decimal) -> None:
        self.round_key, self.unit, self.leaf, self.field = round_key, unit, leaf, field
        self.max_points, self.method, self.step = max_points, method, step
        self.self_points: Decimal | None = None
        self.proposed_points: Decimal | None = None
        self.adjusted_points: Decimal | None = None
        self.points: Decimal | None = None
        self.final_points: Decimal | None = None
        self.evidence: dict[str, Document] = {}
        self.missing_evidence_note = ""
        self.explanations: dict[str, str] = {}
        self.preliminary_accepted = False
        self.status = "open"

    @classmethod
    def open(cls, rnd: Round, unit: str, leaf: str, ctx: Context) -> Score:
        rnd.unit(unit)
        node = rnd.framework.leaf(leaf)
        return cls._create(
            cls.Created, id=score_id(rnd.key, unit, leaf), round_key=rnd.key, unit=unit, leaf=leaf,
            field=node.field, max_points=node.max_points, method=node.method, step=node.step, **ctx.stamp(),
        )

    # The unit's self-assessment

    def self_score(self, points: object, rnd: Round, ctx: Context, note: str = "") -> None:
        self._require_own_unit(ctx)
        self._require_appraisal_leaf()
        rnd.require_window("self_assessment", self.unit, ctx.now)
        self.trigger_event(self.SelfScored, points=self._valid(points), note=note, **ctx.stamp())

    def attach_evidence(self, document: Document, rnd: Round, ctx: Context) -> None:
        self.require_evidence_writer(rnd, ctx)
        if document.sha256 in self.evidence:
            raise EvidenceAlreadyAttachedError(f"{document.sha256} is already attached to leaf {self.leaf}")
        self.trigger_event(self.EvidenceAttached, document=document, **ctx.stamp())

    def withdraw_evidence(self, sha256: str, reason: str, rnd: Round, ctx: Context) -> None:
        self.require_evidence_writer(rnd, ctx)
        if sha256 not in self.evidence:
            raise NotFoundError(f"{sha256} is not attached to leaf {self.leaf}")
        _require_reason(reason, "withdrawing evidence")
        self.trigger_event(self.EvidenceWithdrawn, sha256=sha256, reason=reason, **ctx.stamp())

    def explain_missing_evidence(self, explanation: str, rnd: Round, ctx: Context) -> None:
        self._require_own_unit(ctx)
        self._require_appraisal_leaf()
        rnd.require_window("self_assessment", self.unit, ctx.now)
        _require_reason(explanation, "explaining missing evidence")
        self.trigger_event(self.MissingEvidenceExplained, explanation=explanation, **ctx.stamp())

    @property
    def is_complete(self) -> bool:
        """Scored, and backed by evidence or by an explanation of why there is none."""
        return self.self_points is not None and bool(self.evidence or self.missing_evidence_note)

    # The Secretariat's and the Council's appraisal

    def propose(self, points: object, comment: str, expected_version: int, rnd: Round, ctx: Context) -> None:
        ctx.actor.require_role(Role.SECRETARIAT)
        self._require_appraisal_leaf()
        rnd.require_phase("appraisal")
        self._require_version(expected_version)
        value = self._valid(points)
        if value != self.self_points and blank(comment):
            raise ReasonRequiredError("a proposal that differs from the self-score needs a comment")
        self.trigger_event(self.AppraisalProposed, points=value, comment=comment, **ctx.stamp())

    def adjust(self, points: object, reason: str, expected_version: int, rnd: Round, ctx: Context) -> None:
        self._require_council_scope(rnd, ctx)
        self._require_appraisal_leaf()
        rnd.require_phase("appraisal", "council_review")
        _require_reason(reason, "a council adjustment")
        self._require_version(expected_version)
        self.trigger_event(self.CouncilAdjusted, points=self._valid(points), reason=reason, **ctx.stamp())

    # Explanation reports and the Council's decisions

    def file_explanation(self, argument: str, requested_points: object | None, evidence: Sequence[str],
                         rnd: Round, ctx: Context) -> str:
        self._require_own_unit(ctx)
        self._require_appraisal_leaf()
        rnd.require_window("explanation", self.unit, ctx.now)
        if OPEN in self.explanations.values():
            raise ExplanationAlreadyOpenError(f"leaf {self.leaf} already has an open explanation")
        _require_reason(argument, "an explanation report")
        unknown = [sha for sha in evidence if sha not in self.evidence]
        if unknown:
            raise NotFoundError(f"evidence {unknown[0]} is not attached to leaf {self.leaf}")
        requested = None if requested_points is None else self._valid(requested_points)
        explanation_id = str(len(self.explanations) + 1)
        self.trigger_event(self.ExplanationFiled, explanation_id=explanation_id, argument=argument,
                           requested_points=requested, evidence=tuple(evidence), **ctx.stamp())
        return explanation_id

    def decide_explanation(self, explanation_id: str, accept: bool, points: object | None, reason: str,
                           expected_version: int, rnd: Round, ctx: Context) -> None:
        self._require_council_scope(rnd, ctx)
        rnd.require_phase("council_review")  # once every unit's window has closed; finalization needs them all
        if explanation_id not in self.explanations:
            raise NotFoundError(f"leaf {self.leaf} has no explanation {explanation_id!r}")
        if self.explanations[explanation_id] != OPEN:
            raise ExplanationNotOpenError(f"explanation {explanation_id} was already decided")
        _require_reason(reason, "a decision on an explanation")
        self._require_version(expected_version)
        if not accept:
            self.trigger_event(self.ExplanationRejected, explanation_id=explanation_id, reason=reason, **ctx.stamp())
            return
        if points is None:
            raise InvalidPointsError("accepting an explanation needs the new points")
        self.trigger_event(self.ExplanationAccepted, explanation_id=explanation_id, points=self._valid(points),
                           reason=reason, **ctx.stamp())

    def accept_preliminary(self, rnd: Round, ctx: Context, early_reason: str = "") -> bool:
        """Silence by the explanation window's close (the unit's own extension counted) counts as acceptance;
        idempotent. Before that close only the Secretariat's early closing of the window, with its reason,
        ends the unit's say, and the event records that reason, never a silence that has not happened."""
        ctx.actor.require_role(Role.SYSTEM, Role.SECRETARIAT)
        rnd.require_phase("explanation", "council_review")
        if self.method != "appraisal" or self.explanations or self.preliminary_accepted:
            return False
        closes_at = rnd.closes_at("explanation", self.unit)
        if ctx.now >= closes_at:
            reason = SILENCE
        elif blank(early_reason):
            raise WindowOpenError(f"the explanation window of unit {self.unit} is open until {closes_at.isoformat()}",
                                  window="explanation", closes_at=closes_at.isoformat(), units=[self.unit])
        else:
            reason = (f"explanation window closed early by the Secretariat (it was open for unit {self.unit} "
                      f"until {closes_at.isoformat()}): {early_reason.strip()}")
        self.trigger_event(self.PreliminaryAccepted, reason=reason, **ctx.stamp())
        return True

    # Survey points and finalization

    def record_survey(self, points: object, source: str, rnd: Round, ctx: Context) -> None:
        ctx.actor.require_role(Role.SECRETARIAT)
        if self.method != "survey":
            raise NotSurveyLeafError(f"leaf {self.leaf} is appraised, not surveyed")
        rnd.require_phase("appraisal", "explanation", "council_review")
        self.trigger_event(self.SurveyScored, points=self._valid(points), source=source, **ctx.stamp())

    def record_targets(self, points: object, source: str, rnd: Round, ctx: Context) -> None:
        """The Secretariat records a target leaf's points from official statistics, naming the source."""
        ctx.actor.require_role(Role.SECRETARIAT)
        if self.method != "targets":
            raise NotTargetsLeafError(f"leaf {self.leaf} is scored by {self.method}, not from socio-economic targets")
        if blank(source):
            raise ReasonRequiredError("target points name their source (the statistics they were computed from)")
        rnd.require_phase("appraisal", "explanation", "council_review")
        self.trigger_event(self.TargetsScored, points=self._valid(points), source=source, **ctx.stamp())

    def finalize(self, rnd: Round, ctx: Context) -> bool:
        ctx.actor.require_role(Role.SECRETARIAT, Role.SYSTEM)
        rnd.require_phase("council_review")
        if self.final_points is not None:
            return False
        if OPEN in self.explanations.values():
            raise OpenExplanationsError(f"leaf {self.leaf} of unit {self.unit} has an undecided explanation")
        self.trigger_event(self.Finalized, points=self.points if self.points is not None else ZERO, **ctx.stamp())
        return True

    # Guards

    def _valid(self, points: object) -> Decimal:
        return check_points(to_points(points), self.max_points, self.step, self.leaf)

    def _require_version(self, expected: int) -> None:
        if expected != self.version:
            raise VersionConflictError(f"leaf {self.leaf} is at version {self.version}, not {expected}",
                                       current_version=self.version)

    def _require_appraisal_leaf(self) -> None:
        if self.method != "appraisal":
            source = "the survey" if self.method == "survey" else "socio-economic targets"
            raise SurveyLeafError(f"leaf {self.leaf} is scored only from {source}")

    def _require_own_unit(self, ctx: Context) -> None:
        ctx.actor.require_role(Role.UNIT)
        if ctx.actor.unit != self.unit:
            raise WrongUnitError(f"an officer of unit {ctx.actor.unit} may not write the dossier of unit {self.unit}")

    def require_evidence_writer(self, rnd: Round, ctx: Context) -> None:
        """The unit's own officer, on an appraisal leaf, in its open window (checked before a file is stored)."""
        self._require_own_unit(ctx)
        self._require_appraisal_leaf()
        window = "explanation" if rnd.phase == "explanation" else "self_assessment"
        rnd.require_window(window, self.unit, ctx.now)

    def _require_council_scope(self, rnd: Round, ctx: Context) -> None:
        actor = ctx.actor
        actor.require_role(Role.COUNCIL)
        if self.field not in actor.fields:
            raise FieldNotAssignedError(f"field {self.field} is not assigned to council member {actor.id}")
        if rnd.level == "ministry" and actor.ministry == self.unit:
            raise OwnMinistryError(f"council member {actor.id} may not appraise their own ministry {self.unit}")


def _require_reason(text: str, what: str) -> None:
    if blank(text):
        raise ReasonRequiredError(f"{what} needs a reason")

