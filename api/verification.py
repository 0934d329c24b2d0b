"""Verification: recompute the hash chains of the log; check a write's receipt."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, protect
from api.openapi_docs import PRINCIPALS, access
from api.schemas import ReceiptCheckSchema, ReceiptVerdictSchema, VerificationSchema, VerifyQuerySchema
from api.wiring import council, read_models
from domain.values import Role

blp = protect(Blueprint("integrity", __name__, url_prefix="/api/v1", description="Integrity of the log"))


@blp.route("/verify")
class Verify(MethodView):
    @access(Role.INSPECTOR, Role.SECRETARIAT, Role.ADMIN)
    @blp.arguments(VerifyQuerySchema, location="query")
    @blp.response(200, VerificationSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Verify the log: hash chains, seals, checkpoints and evidence files.

        Every stream's chain and seals and every checkpoint; the evidence files re-hashed (all, or `sample` of
        them); with `views=true`, the read views against a fresh fold of the log."""
        actor().require_role(Role.INSPECTOR, Role.SECRETARIAT, Role.ADMIN)
        return council().verify(query.get("round"), query.get("sample"), read_models() if query["views"] else None,
                                witness=read_models())


@blp.route("/receipts/verify")
class ReceiptCheck(MethodView):
    @access(*PRINCIPALS, records=False)
    @blp.arguments(ReceiptCheckSchema)
    @blp.response(200, ReceiptVerdictSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Check a write's receipt against the council's keys and the log.

        The signature (when the receipt carries one) against the council's keys, current or retired; the event
        in the log with that hash, type, time, request id and position; its stream's chain up to it."""
        return council().verify_receipt(data)
