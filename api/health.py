"""Liveness, the database as it answers now, and the views' lag; open to everyone."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.openapi_docs import access
from api.schemas import HealthSchema
from api.wiring import components
from council.scheduler import read_status

blp = Blueprint("health", __name__, url_prefix="/api/v1/health", description="Liveness")


@blp.route("")
class Health(MethodView):
    @access()
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """Check liveness: the database, the views' lag and the scheduler.

        200 only after the database answered a query of the log; a database that does not answer, or one
        without tables, is a 503 problem (service-unavailable, database-not-initialized)."""
        parts = components()
        events = parts.council.recorder.max_notification_id() or 0  # a real round trip to the events table
        status = parts.read_models.status()
        return {"status": "ok", "database": "ok", "backend": parts.settings.backend, "events": events,
                "projection_lag": status["lag"], "scheduler": read_status(parts.settings.data_dir)}
