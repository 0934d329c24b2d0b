"""The read side: audit trail and disputes (from the views), results exports, view status."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api import spreadsheets
from api.auth import actor, protect
from api.openapi_docs import access
from api.schemas import (
    AuditPageSchema,
    AuditQuerySchema,
    DisputeSchema,
    DisputesQuerySchema,
    ResultsQuerySchema,
    ResultsSchema,
    ViewStatusSchema,
)
from api.wiring import read_models
from domain.values import Role

blp = protect(Blueprint("readmodels", __name__, url_prefix="/api/v1", description="Results, audit trail, disputes"))


def exportable(func: Any) -> Any:
    """Document the CSV and XLSX forms of a 200 beside its JSON (`?format=csv|xlsx`)."""
    func = blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", success=True,
                            description="CSV export (UTF-8 with BOM)")(func)
    return blp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type=spreadsheets.XLSX,
                            success=True, description="XLSX export")(func)


def download(data: bytes, media_type: str, name: str) -> Response:
    return Response(data, mimetype=media_type.split(";")[0], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Content-Type": media_type})


def export(fmt: str, title: str, header: list[str], rows: list[list[Any]]) -> Response:
    if fmt == "csv":
        return download(spreadsheets.to_csv(header, rows), spreadsheets.CSV, f"{title}.csv")
    return download(spreadsheets.to_xlsx(title, header, rows), spreadsheets.XLSX, f"{title}.xlsx")


def kept_json(found: dict[str, Any]) -> Response:
    """The results as JSON, serialized once per stamp the read models keep them under (issue 13: serializing 63
    units on every read was the bound once the answer itself was kept)."""
    body = read_models().derived(found["kept"], "results-json",
                                 lambda: current_app.json.response(ResultsSchema().dump(found)).get_data())
    return Response(body, mimetype="application/json")


@blp.route("/rounds/<round_key>/results")
class Results(MethodView):
    @access(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR, Role.UNIT,
            scope="a unit officer once the round is published")
    @blp.arguments(ResultsQuerySchema, location="query")
    @exportable
    @blp.response(200, ResultsSchema)
    def get(self, query: dict[str, Any], round_key: str) -> Any:
        """Read a round's results: ranks, indices, groups, fields (JSON, CSV or XLSX).

        Every unit's rank, index and group, each field's points, component index and rank, and the change against
        the previous round of the same level; `format=csv|xlsx` for a download, `after` to read your own write."""
        found = read_models().results(round_key, reader=actor(), min_position=query.get("after"))
        if query["format"] == "json":
            return kept_json(found)
        return export(query["format"], f"results-{round_key}", *spreadsheets.results_rows(found))


@blp.route("/audit")
class Audit(MethodView):
    @access(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR, Role.UNIT,
            scope="a unit officer only their own unit's events (filtered to it when they name none)")
    @blp.arguments(AuditQuerySchema, location="query")
    @exportable
    @blp.response(200, AuditPageSchema)
    def get(self, query: dict[str, Any]) -> Any:
        """Page through the audit trail (JSON, CSV or XLSX).

        Every recorded event, filtered by round, unit, leaf, actor, type, time or request id, a page at a time
        (`cursor`, `limit`)."""
        filters = {"round_key": query.get("round"), **{k: query.get(k) for k in
                                                       ("unit", "leaf", "actor", "type", "since", "until",
                                                                        "request_id")}}
        services, who = read_models(), actor()
        page = services.audit(filters, who, cursor=query["cursor"], limit=query["limit"],
                              min_position=query.get("after"))
        if query["format"] == "json":
            return page
        items = page["items"]  # an export holds every matching row from the cursor on, not one page
        while page["next_cursor"] is not None:
            page = services.audit(filters, who, cursor=page["next_cursor"], limit=1000)
            items += page["items"]
        return export(query["format"], "audit", *spreadsheets.audit_rows(items))


@blp.route("/rounds/<round_key>/disputes")
class Disputes(MethodView):
    @access(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR, Role.UNIT,
            scope="a unit officer only their own unit's disputes (filtered to it when they name none)")
    @blp.arguments(DisputesQuerySchema, location="query")
    @blp.response(200, DisputeSchema(many=True))
    def get(self, query: dict[str, Any], round_key: str) -> list[dict[str, Any]]:
        """List a round's disputes: explanation reports and their decisions.

        By unit and by state (open, accepted, rejected)."""
        return read_models().disputes(round_key, actor(), unit=query.get("unit"), state=query.get("state"),
                                  min_position=query.get("after"))


@blp.route("/views")
class Views(MethodView):
    @access(Role.ADMIN, Role.INSPECTOR, Role.SECRETARIAT)
    @blp.response(200, ViewStatusSchema)
    def get(self) -> dict[str, Any]:
        """Read the views' position and lag behind the log, view by view."""
        actor().require_role(Role.ADMIN, Role.INSPECTOR, Role.SECRETARIAT)
        return read_models().status()
