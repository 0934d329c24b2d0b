"""Rounds: open, read, advance the phase, extend a window; the Council's meeting, the approval, the announcement."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, protect
from api.schemas import (
    AnnouncementSchema,
    ApprovalSchema,
    ExtensionSchema,
    MeetingSchema,
    PhaseSchema,
    ReceiptSchema,
    RoundAnswerSchema,
    RoundOpenSchema,
    SurveyImportSchema,
)
from api.wiring import council
from council.services.application import Receipt
from council.services.publication_service import Approval, Meeting
from council.services.round_service import Extension, RoundPlan

blp = protect(Blueprint("rounds", __name__, url_prefix="/api/v1/rounds", description="Appraisal rounds"))


@blp.route("")
class Rounds(MethodView):
    @blp.arguments(RoundOpenSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any]) -> Receipt:
        plan = RoundPlan(data["year"], data["framework"], data["units"], data["windows"], data.get("thresholds"))
        return council().open_round(plan, actor())


@blp.route("/<round_key>")
class RoundResource(MethodView):
    @blp.response(200, RoundAnswerSchema)
    def get(self, round_key: str) -> dict[str, Any]:
        """The round, with each window's countdown (round-wide: a unit's own extension is on its dossier)."""
        return {**council().round(round_key), "countdown": council().countdown(round_key)}


@blp.route("/<round_key>/phase")
class Phase(MethodView):
    @blp.arguments(PhaseSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        return council().advance_phase(round_key, data["phase"], actor(), reason=data["reason"])


@blp.route("/<round_key>/meeting")
class CouncilMeeting(MethodView):
    @blp.arguments(MeetingSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        """The Appraisal Council's meeting that agreed the finalized results (once; a second one is a 409)."""
        meeting = Meeting(data["held_on"], tuple(data["members"]), data["minutes"])
        return council().record_council_meeting(round_key, meeting, actor())


@blp.route("/<round_key>/approval")
class ResultsApproval(MethodView):
    @blp.arguments(ApprovalSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        """The Ministry's decision approving the results, after the meeting."""
        return council().record_approval(round_key, Approval(data["number"], data["decided_on"]), actor())


@blp.route("/<round_key>/announcement")
class Announcement(MethodView):
    @blp.arguments(AnnouncementSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        """The public announcement, after the approval: the round is published (the only way to publish it)."""
        return council().announce(round_key, data["announced_on"], actor())


@blp.route("/<round_key>/extensions")
class Extensions(MethodView):
    @blp.arguments(ExtensionSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        extension = Extension(data["window"], data["closes_at"], data["reason"], data["unit"])
        return council().extend_window(round_key, extension, actor())


@blp.route("/<round_key>/survey-results")
class SurveyResults(MethodView):
    @blp.arguments(SurveyImportSchema)
    @blp.response(201, ReceiptSchema(many=True))
    def post(self, data: dict[str, Any], round_key: str) -> list[Receipt]:
        return council().import_survey(round_key, data["results"], data["source"], actor())
