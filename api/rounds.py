"""Rounds: open, read, advance the phase, extend a window."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, protect
from api.schemas import (
    ExtensionSchema,
    PhaseSchema,
    ReceiptSchema,
    RoundOpenSchema,
    RoundSchema,
    SurveyImportSchema,
)
from api.services import council
from council.application import Receipt

blp = protect(Blueprint("rounds", __name__, url_prefix="/api/v1/rounds", description="Appraisal rounds"))


@blp.route("")
class Rounds(MethodView):
    @blp.arguments(RoundOpenSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any]) -> Receipt:
        return council().open_round(year=data["year"], framework_id=data["framework"], units=data["units"],
                                    windows=data["windows"], thresholds=data.get("thresholds"), actor=actor())


@blp.route("/<round_key>")
class RoundResource(MethodView):
    @blp.response(200, RoundSchema)
    def get(self, round_key: str) -> dict[str, Any]:
        return council().round(round_key)


@blp.route("/<round_key>/phase")
class Phase(MethodView):
    @blp.arguments(PhaseSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        return council().advance_phase(round_key, data["phase"], actor(), reason=data["reason"])


@blp.route("/<round_key>/extensions")
class Extensions(MethodView):
    @blp.arguments(ExtensionSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str) -> Receipt:
        return council().extend_window(round_key, data["window"], data["closes_at"], data["reason"], actor(),
                                       unit=data["unit"])


@blp.route("/<round_key>/survey-results")
class SurveyResults(MethodView):
    @blp.arguments(SurveyImportSchema)
    @blp.response(201, ReceiptSchema(many=True))
    def post(self, data: dict[str, Any], round_key: str) -> list[Receipt]:
        return council().import_survey(round_key, data["results"], data["source"], actor())
