"""Rounds: open, read, advance the phase, extend a window; the Council's meeting, the approval, the announcement."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, protect
from api.openapi_docs import PRINCIPALS, access
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
from domain.values import Role

blp = protect(Blueprint("rounds", __name__, url_prefix="/api/v1/rounds", description="Appraisal rounds"))


@blp.route("")
class Rounds(MethodView):
    @access(Role.SECRETARIAT, errors=(404,))
    @blp.arguments(RoundOpenSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any]) -> Receipt:
        """Open an appraisal round.

        The year, the criteria tree (a shipped framework id), the units, the self-assessment and explanation
        windows and, optionally, the ranking groups' thresholds. One round per year and level (409 otherwise)."""
        plan = RoundPlan(data["year"], data["framework"], data["units"], data["windows"], data.get("thresholds"))
        return council().open_round(plan, actor())


@blp.route("/<round_key>")
class RoundResource(MethodView):
    @access(*PRINCIPALS)
    @blp.response(200, RoundAnswerSchema)
    def get(self, round_key: str) -> dict[str, Any]:
        """Read a round, with each window's countdown.

        The countdown is round-wide: a unit's own extension is on its dossier."""
        return {**council().round(round_key), "countdown": council().countdown(round_key)}


@blp.route("/<round_key>/phase")
class Phase(MethodView):
    @access(Role.SECRETARIAT)
    @blp.arguments(PhaseSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        """Move the round to its next phase.

        One step forward (self_assessment, appraisal, explanation, council_review, finalized); `published` is
        reached only by the announcement. Leaving a window's phase while the window is still open for some unit
        needs a reason (409 window-open otherwise), which is recorded."""
        return council().advance_phase(round_key, data["phase"], actor(), reason=data["reason"])


@blp.route("/<round_key>/meeting")
class CouncilMeeting(MethodView):
    @access(Role.SECRETARIAT)
    @blp.arguments(MeetingSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        """Record the Appraisal Council's meeting.

        The meeting that agreed the finalized results: recorded once (a second one is a 409)."""
        meeting = Meeting(data["held_on"], tuple(data["members"]), data["minutes"])
        return council().record_council_meeting(round_key, meeting, actor())


@blp.route("/<round_key>/approval")
class ResultsApproval(MethodView):
    @access(Role.SECRETARIAT)
    @blp.arguments(ApprovalSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        """Record the Ministry's decision approving the results.

        After the Council's meeting, dated on or after it."""
        return council().record_approval(round_key, Approval(data["number"], data["decided_on"]), actor())


@blp.route("/<round_key>/announcement")
class Announcement(MethodView):
    @access(Role.SECRETARIAT)
    @blp.arguments(AnnouncementSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        """Announce the results: the round is published.

        After the approval, dated on or after it: the only way a round is published."""
        return council().announce(round_key, data["announced_on"], actor())


@blp.route("/<round_key>/extensions")
class Extensions(MethodView):
    @access(Role.SECRETARIAT)
    @blp.arguments(ExtensionSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        """Extend a window, for the whole round or for one unit.

        The self-assessment or explanation window closes later, with the reason recorded; `unit` limits the
        extension to that unit."""
        extension = Extension(data["window"], data["closes_at"], data["reason"], data["unit"])
        return council().extend_window(round_key, extension, actor())


@blp.route("/<round_key>/survey-results")
class SurveyResults(MethodView):
    @access(Role.SECRETARIAT)
    @blp.arguments(SurveyImportSchema)
    @blp.response(201, ReceiptSchema(many=True))
    def post(self, data: dict[str, Any], round_key: str) -> list[Receipt]:
        """Import survey points for many units.

        Rows of unit, survey leaf and points, with their source, in one transaction: every row is recorded, or
        none. From the appraisal phase to the council review."""
        return council().import_survey(round_key, data["results"], data["source"], actor())
