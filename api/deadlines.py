"""Deadlines as users see them (issue 11): a unit's dossier with its windows' countdown, and the reminders outbox."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, protect
from api.openapi_docs import PRINCIPALS, access
from api.schemas import DossierSchema, RemindersQuerySchema, RemindersSchema
from api.wiring import council
from domain.values import Role

blp = protect(Blueprint("deadlines", __name__, url_prefix="/api/v1", description="Dossiers, countdowns, reminders"))


@blp.route("/rounds/<round_key>/units/<unit>/dossier")
class DossierResource(MethodView):
    @access(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR, Role.UNIT, scope="a unit officer only for their own unit")
    @blp.response(200, DossierSchema)
    def get(self, round_key: str, unit: str) -> dict[str, Any]:
        """Read a unit's dossier, with its windows' countdown.

        Submitted, released, each window's effective close for the unit (UTC and ICT) with
        the time left, the closes the scheduler recorded, reminders sent, and the work still missing."""
        return council().dossier(round_key, unit, actor())


@blp.route("/reminders")
class Reminders(MethodView):
    @access(*PRINCIPALS, scope="a unit officer sees their own unit's reminders only", refused=None)
    @blp.arguments(RemindersQuerySchema, location="query")
    @blp.response(200, RemindersSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List the reminders the scheduler issued.

        The outbox: every reminder the scheduler issued, with when the webhook took it (`pending=true`: not
        yet). A unit's officer sees their own unit's only."""
        return {"reminders": council().reminders(actor(), query.get("round"), query.get("unit"), query["pending"])}
