"""Liveness and database reachability; open to everyone."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.schemas import HealthSchema
from api.services import council

blp = Blueprint("health", __name__, url_prefix="/api/v1/health", description="Liveness")


@blp.route("")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        return {"status": "ok", "database": "ok", "projection_lag": council().view_status()["lag"]}
