"""Criteria trees shipped with the server."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import protect
from api.openapi_docs import PRINCIPALS, access
from api.schemas import FrameworkSchema, FrameworkSummarySchema
from council.infra import criteria_trees as frameworks

blp = protect(Blueprint("frameworks", __name__, url_prefix="/api/v1/frameworks", description="Criteria trees"))


def summary(framework_id: str, with_data: bool = False) -> dict[str, Any]:
    tree = frameworks.load(framework_id)
    found = {"id": tree.id, "level": tree.level, "title": tree.title, "hash": tree.hash}
    return found | ({"data": dict(tree.data)} if with_data else {})


@blp.route("")
class Frameworks(MethodView):
    @access(*PRINCIPALS)
    @blp.response(200, FrameworkSummarySchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """List the criteria trees shipped with the server.

        Each tree's id, level, title and hash; a round is opened on one of them."""
        return [summary(framework_id) for framework_id in frameworks.available()]


@blp.route("/<framework_id>")
class Framework(MethodView):
    @access(*PRINCIPALS)
    @blp.response(200, FrameworkSchema)
    def get(self, framework_id: str) -> dict[str, Any]:
        """Read one criteria tree, with its fields and leaves.

        Every leaf's code, title, maximum points, grid step and scoring method (appraisal, survey or targets)."""
        return summary(framework_id, with_data=True)
