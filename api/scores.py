"""Scores of a unit: read (ETag), self-assess, propose, adjust (If-Match), explain, decide, replay."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from api.auth import actor, protect
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
from domain.values import ScoreAddress

blp = protect(Blueprint("scores", __name__, url_prefix="/api/v1/rounds/<round_key>/units/<unit>",
                        description="Scores, evidence and explanations of one unit"))


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
    @blp.response(200, ScoreSchema(many=True))
    def get(self, round_key: str, unit: str) -> list[dict[str, Any]]:
        return council().unit_scores(round_key, unit, reader=actor())


@blp.route("/scores/<leaf>")
class ScoreResource(MethodView):
    @blp.response(200, ScoreSchema, headers={"ETag": {"schema": {"type": "string"}}})
    def get(self, round_key: str, unit: str, leaf: str) -> tuple[dict[str, Any], int, dict[str, str]]:
        state = council().score(ScoreAddress(round_key, unit, leaf), reader=actor())
        return state, 200, {"ETag": f'"{state["version"]}"'}


@blp.route("/scores/<leaf>/self-assessment")
class SelfAssessment(MethodView):
    @blp.arguments(SelfScoreSchema)
    @blp.response(200, ReceiptSchema)
    def put(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        return council().self_score(ScoreAddress(round_key, unit, leaf), data["points"], actor(), note=data["note"])


@blp.route("/scores/<leaf>/appraisals")
class Appraisals(MethodView):
    @blp.arguments(AppraisalSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        return council().propose(ScoreAddress(round_key, unit, leaf), data["points"], expected_version(), actor(),
                                 comment=data["comment"])


@blp.route("/scores/<leaf>/adjustments")
class Adjustments(MethodView):
    @blp.arguments(AdjustmentSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        return council().adjust(ScoreAddress(round_key, unit, leaf), data["points"], data["reason"],
                                expected_version(), actor())


@blp.route("/scores/<leaf>/explanations")
class Explanations(MethodView):
    @blp.arguments(ExplanationSchema)
    @blp.response(201, ExplanationFiledSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> dict[str, Any]:
        report = ExplanationReport(data["argument"], data["requested_points"], data["evidence"])
        explanation_id, receipt = council().file_explanation(ScoreAddress(round_key, unit, leaf), report, actor())
        return {**vars(receipt), "explanation_id": explanation_id}


@blp.route("/scores/<leaf>/explanations/<explanation_id>/decision")
class Decision(MethodView):
    @blp.arguments(DecisionSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str, explanation_id: str) -> Receipt:
        decision = CouncilDecision(data["accept"], data["reason"], data["points"])
        return council().decide_explanation(ScoreAddress(round_key, unit, leaf), explanation_id, decision,
                                            expected_version(), actor())


@blp.route("/scores/<leaf>/history")
class History(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, HistorySchema)
    def get(self, query: dict[str, Any], round_key: str, unit: str, leaf: str) -> dict[str, Any]:
        history = council().history(ScoreAddress(round_key, unit, leaf), version=query.get("version"),
                                    as_of=query.get("as_of"), reader=actor())
        for event in history["events"]:
            event["data"] = canonical(event["data"])
        return history


@blp.route("/self-assessment")
class SelfAssessmentForm(MethodView):
    @blp.arguments(SelfAssessmentFormSchema)
    @blp.response(201, ReceiptSchema(many=True))
    def post(self, data: dict[str, Any], round_key: str, unit: str) -> list[Receipt]:
        """The whole form in one transaction: every entry is recorded, or none."""
        return council().self_assess(round_key, unit, data["entries"], actor())


@blp.route("/targets")
class Targets(MethodView):
    @blp.arguments(TargetsSchema)
    @blp.response(201, ReceiptSchema(many=True))
    def post(self, data: dict[str, Any], round_key: str, unit: str) -> list[Receipt]:
        """The Secretariat records a unit's socio-economic target points (leaves of method `targets`), with the
        statistics they come from, in one transaction: every leaf is recorded, or none."""
        return council().record_targets(round_key, unit, data["points"], actor(), data["source"])


@blp.route("/submission")
class Submission(MethodView):
    @blp.arguments(SubmissionSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str) -> Receipt:
        return council().submit(round_key, unit, data["approved_by"], data["report"], actor())
