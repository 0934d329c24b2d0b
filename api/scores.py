"""Scores of a unit: read (ETag), self-assess, propose, adjust (If-Match), explain, decide, replay."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from api.auth import actor, protect
from api.openapi_docs import access
from api.schemas import (
    AdjustmentSchema,
    AppraisalSchema,
    DecisionSchema,
    ExplanationFiledSchema,
    ExplanationSchema,
    HistoryQuerySchema,
    HistorySchema,
    ReceiptSchema,
    ScoreSchema,
    SelfAssessmentFormSchema,
    SelfScoreSchema,
    SubmissionSchema,
    TargetsSchema,
)
from api.wiring import council
from council.services.application import Receipt
from council.services.appraisal_service import Decision as CouncilDecision
from council.services.appraisal_service import ExplanationReport
from domain.integrity import canonical
from domain.values import Role, ScoreAddress

blp = protect(Blueprint("scores", __name__, url_prefix="/api/v1/rounds/<round_key>/units/<unit>",
                        description="Scores, evidence and explanations of one unit"))
READERS = (Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR, Role.UNIT)  # Actor.require_reader
OWN_UNIT = "a unit officer only for their own unit"
OFFICER = "an officer of the unit in the path"
IN_FIELD = "a council member assigned the leaf's field, never on their own ministry"


def expected_version() -> int:
    """The version the client read, from If-Match; writes on a score without it get 428."""
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if not header:
        abort(428, message='send If-Match: "<version>" from the score\'s ETag')
    if not (header.isascii() and header.isdigit()):
        abort(412, message="If-Match holds the score's version, as its ETag gives it")
    return int(header)


@blp.route("/scores")
class UnitScores(MethodView):
    @access(*READERS, scope=OWN_UNIT)
    @blp.response(200, ScoreSchema(many=True))
    def get(self, round_key: str, unit: str) -> list[dict[str, Any]]:
        """List a unit's scores, one per leaf of the round's tree."""
        return council().unit_scores(round_key, unit, reader=actor())


@blp.route("/scores/<leaf>")
class ScoreResource(MethodView):
    @access(*READERS, scope=OWN_UNIT)
    @blp.response(200, ScoreSchema, headers={"ETag": {"schema": {"type": "string"}, "description": (
        "the score's version, quoted: send it back as If-Match to appraise, adjust or decide on it")}})
    def get(self, round_key: str, unit: str, leaf: str) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Read one score, with its version as ETag.

        Self, proposed, adjusted and final points, evidence and explanations. The ETag is what the writes that
        take If-Match need."""
        state = council().score(ScoreAddress(round_key, unit, leaf), reader=actor())
        return state, 200, {"ETag": f'"{state["version"]}"'}


@blp.route("/scores/<leaf>/self-assessment")
class SelfAssessment(MethodView):
    @access(Role.UNIT, scope=OFFICER)
    @blp.arguments(SelfScoreSchema)
    @blp.response(200, ReceiptSchema)
    def put(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        """Self-score a leaf.

        In the unit's self-assessment window, on an appraised leaf; points on the leaf's grid, up to its maximum."""
        return council().self_score(ScoreAddress(round_key, unit, leaf), data["points"], actor(), note=data["note"])


@blp.route("/scores/<leaf>/appraisals")
class Appraisals(MethodView):
    @access(Role.SECRETARIAT, if_match=True)
    @blp.arguments(AppraisalSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        """Propose the Secretariat's preliminary points for a leaf.

        In the appraisal phase, under the version read (If-Match); points that differ from the self-score need a
        comment."""
        return council().propose(ScoreAddress(round_key, unit, leaf), data["points"], expected_version(), actor(),
                                 comment=data["comment"])


@blp.route("/scores/<leaf>/adjustments")
class Adjustments(MethodView):
    @access(Role.COUNCIL, scope=IN_FIELD, if_match=True)
    @blp.arguments(AdjustmentSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        """Adjust a score as the Appraisal Council, with a reason.

        In the appraisal or council review phase, under the version read (If-Match)."""
        return council().adjust(ScoreAddress(round_key, unit, leaf), data["points"], data["reason"],
                                expected_version(), actor())


@blp.route("/scores/<leaf>/explanations")
class Explanations(MethodView):
    @access(Role.UNIT, scope=OFFICER)
    @blp.arguments(ExplanationSchema)
    @blp.response(201, ExplanationFiledSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> dict[str, Any]:
        """File an explanation report disputing a score.

        In the unit's explanation window, one open report per leaf: the argument, the points asked for and the
        leaf's evidence it relies on. The answer names the explanation for the Council's decision."""
        report = ExplanationReport(data["argument"], data["requested_points"], data["evidence"])
        explanation_id, receipt = council().file_explanation(ScoreAddress(round_key, unit, leaf), report, actor())
        return {**vars(receipt), "explanation_id": explanation_id}


@blp.route("/scores/<leaf>/explanations/<explanation_id>/decision")
class Decision(MethodView):
    @access(Role.COUNCIL, scope=IN_FIELD, if_match=True)
    @blp.arguments(DecisionSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str, explanation_id: str) -> Receipt:
        """Decide an explanation report: accept it with points, or reject it.

        In the council review phase, with a reason, under the version read (If-Match)."""
        decision = CouncilDecision(data["accept"], data["reason"], data["points"])
        return council().decide_explanation(ScoreAddress(round_key, unit, leaf), explanation_id, decision,
                                            expected_version(), actor())


@blp.route("/scores/<leaf>/history")
class History(MethodView):
    @access(*READERS, scope=OWN_UNIT)
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, HistorySchema)
    def get(self, query: dict[str, Any], round_key: str, unit: str, leaf: str) -> dict[str, Any]:
        """Replay a score's history, as of a version or a time.

        Every event with its actor, time, request id, reason, points before and after and hash, and whether the
        stream's hash chain verifies."""
        history = council().history(ScoreAddress(round_key, unit, leaf), version=query.get("version"),
                                    as_of=query.get("as_of"), reader=actor())
        for event in history["events"]:
            event["data"] = canonical(event["data"])
        return history


@blp.route("/self-assessment")
class SelfAssessmentForm(MethodView):
    @access(Role.UNIT, scope=OFFICER)
    @blp.arguments(SelfAssessmentFormSchema)
    @blp.response(201, ReceiptSchema(many=True))
    def post(self, data: dict[str, Any], round_key: str, unit: str) -> list[Receipt]:
        """Self-assess many leaves in one form.

        The whole form in one transaction: every entry is recorded, or none."""
        return council().self_assess(round_key, unit, data["entries"], actor())


@blp.route("/targets")
class Targets(MethodView):
    @access(Role.SECRETARIAT)
    @blp.arguments(TargetsSchema)
    @blp.response(201, ReceiptSchema(many=True))
    def post(self, data: dict[str, Any], round_key: str, unit: str) -> list[Receipt]:
        """Record a unit's socio-economic target points.

        The Secretariat records the points of the leaves of method `targets`, with the statistics they come from,
        in one transaction: every leaf is recorded, or none."""
        return council().record_targets(round_key, unit, data["points"], actor(), data["source"])


@blp.route("/submission")
class Submission(MethodView):
    @access(Role.UNIT, scope=OFFICER)
    @blp.arguments(SubmissionSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str) -> Receipt:
        """Submit the unit's self-assessment.

        Once, in the self-assessment window, when every appraised leaf is scored with evidence or an explanation
        of its absence; with who approved it and the report (a stored file, by its hash)."""
        return council().submit(round_key, unit, data["approved_by"], data["report"], actor())
