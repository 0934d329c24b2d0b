"""RFC 9457 problem+json: every error the API returns, mapped in one place."""

from __future__ import annotations

import http
import sqlite3
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from flask import Flask, Response, has_request_context, json
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from api import request_ids
from api.pages import i18n
from council.infra.ddl import TablesMissingError
from domain.errors import DomainError

MEDIA_TYPE = "application/problem+json"
HTTP_TYPES = {
    400: "malformed-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
    409: "conflict", 412: "precondition-failed", 413: "payload-too-large", 415: "unsupported-media-type",
    422: "validation-error", 428: "precondition-required", 503: "service-unavailable",
}
# The languages of problem titles, the API's default first: English unless the client prefers Vietnamese.
TITLE_LANGUAGES = ("en", "vi")


def problem(status: int, type_: str, title: str, detail: str = "", headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    body = {"type": type_, "title": localized(title), "status": status, **({"detail": detail} if detail else {}),
            **extra}
    if request_ids.current():
        body["request_id"] = request_ids.current()
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    response.vary.add("Accept-Language")
    return response


def localized(title: str) -> str:
    """The title in the language the client's Accept-Language prefers among TITLE_LANGUAGES (details stay English:
    they name codes, fields and values for the people who debug)."""
    language = i18n.preferred(TITLE_LANGUAGES) if has_request_context() else TITLE_LANGUAGES[0]
    return title if language == TITLE_LANGUAGES[0] else i18n.translated(title, language)


def domain_title(error: DomainError | type[DomainError]) -> str:
    """A domain error's title, from its stable type: `version-conflict` is "Version conflict"."""
    return error.type.replace("-", " ").capitalize()


class ProblemSchema(Schema):
    """RFC 9457 problem details; some types add members (`errors`, `current_version`, `leaves`, …)."""

    class Meta:
        unknown = INCLUDE  # documented as open: extension members are part of the standard

    type = fields.Str(required=True, metadata={"example": "version-conflict"})
    title = fields.Str(required=True)
    status = fields.Int(required=True)
    detail = fields.Str()
    errors = fields.Dict(metadata={"description": "per-field messages of a validation-error"})
    request_id = fields.Str(metadata={"description": "the request's X-Request-ID, as the events and logs carry it"})


class ProblemApi(Api):
    """flask-smorest's Api, answering and documenting its errors (validation included) as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        """flask-smorest's default responses, with the problem+json media type they really have."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:
        status = error.code or 500
        data = getattr(error, "data", {}) or {}
        extra: dict[str, Any] = {}
        if "messages" in data:
            extra["errors"] = _flatten(data["messages"])
        type_ = data.get("type") or HTTP_TYPES.get(status, "http-error")
        if status == 400 and isinstance(getattr(error, "exc", None), (ValueError, UnicodeDecodeError)):
            type_ = "malformed-json"  # webargs' JSONDecodeError (a ValueError)
        headers = dict(data.get("headers") or {})
        if status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="par-council"')
        detail = data.get("message") or error.description or ""
        return problem(status, type_, error.name, str(detail), headers=headers, **extra)


def _flatten(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests messages by location ({"json": {...}}); clients want the fields."""
    if len(messages) == 1 and next(iter(messages)) in ("json", "query", "headers", "form", "files"):
        return next(iter(messages.values()))
    return messages


def domain_error(error: DomainError) -> Response:
    details = {k: v for k, v in error.details.items() if isinstance(v, (str, int, list))}
    headers = {"Retry-After": "1"} if error.status == 503 else None
    return problem(error.status, error.type, domain_title(error), str(error), headers=headers, **details)


def unavailable(error: Exception) -> Response:
    """The database does not answer: tell the client to come back, never hang, never leak the error."""
    return problem(503, "service-unavailable", "Service Unavailable", "the database is not answering; retry shortly",
                   headers={"Retry-After": "5"})


def not_initialized(error: TablesMissingError) -> Response:
    """The server runs but `council db init` was never run against its database: say so, never 500."""
    return problem(503, "database-not-initialized", "Database Not Initialized", str(error),
                   headers={"Retry-After": "30"})


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(TablesMissingError, not_initialized)
    for outage in (OperationalError, InterfaceError, psycopg.OperationalError, PoolTimeout, sqlite3.OperationalError):
        app.register_error_handler(outage, unavailable)
