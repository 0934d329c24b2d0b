"""A round's results under another criteria tree, beside its own; nothing is recorded (issue 12)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, protect
from api.openapi_docs import access
from api.schemas import RescoreQuerySchema, RescoreSchema
from api.wiring import read_models
from council.infra import criteria_trees
from domain.values import Role

blp = protect(Blueprint("rescoring", __name__, url_prefix="/api/v1", description="Re-scoring under a corrected tree"))


@blp.route("/rounds/<round_key>/rescore")
class Rescore(MethodView):
    @access(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR)
    @blp.arguments(RescoreQuerySchema, location="query")
    @blp.response(200, RescoreSchema)
    def get(self, query: dict[str, Any], round_key: str) -> dict[str, Any]:
        """Re-score a round under another criteria tree, recording nothing.

        The round's recorded points carried over to the shipped tree `framework` (leaf by leaf, by the rule
        the answer states), its results computed again and shown beside the round's own, with every rank that
        would change. Read only: the log is not written."""
        return read_models().rescore(round_key, criteria_trees.load(query["framework"]), actor())
