"""The API's documentation, complete and offline (issue 14).

- Swagger UI's assets come from the pinned flask-swagger-ui package, served under ASSETS_URL: /api/v1/docs loads
  nothing from another host and renders on a network without the internet.
- One pass over the generated OpenAPI document (`complete`, run each time the document is produced) adds what
  operations share instead of repeating it in every view: X-Request-ID on every operation, Idempotency-Key on
  every write that api/idempotency_keys.py keys, If-Match where a view declares it, who may call each operation
  (`x-roles` and a line of its description, from `access`), and the problem+json answers it can give.

A view declares what only it knows with `access`: the roles that may call it, the scope within a role, the
answers beyond the common ones, and whether it reads If-Match (`expected_version()` in api/scores.py).
"""

from __future__ import annotations

import copy
import http
import importlib.resources
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, send_from_directory
from flask_smorest import Api
from flask_smorest.spec.plugins import FlaskPlugin

from api import auth, idempotency_keys, input_limits, request_ids
from council.services import request_scope
from domain.values import Role

ASSETS_URL = "/api/v1/docs/assets/"
ASSETS = Path(str(importlib.resources.files("flask_swagger_ui") / "dist"))  # swagger-ui-bundle.js, swagger-ui.css, …
ASSETS_MAX_AGE = 3600
# Swagger UI's defaults that reach another host: the online validator's badge (validator.swagger.io).
SWAGGER_UI_CONFIG: dict[str, Any] = {"validatorUrl": None, "deepLinking": True}  # links to an operation

PRINCIPALS = (Role.ADMIN, Role.SECRETARIAT, Role.COUNCIL, Role.UNIT, Role.INSPECTOR)  # every role a token has
ANYONE = "anyone"  # x-roles of an operation that needs no token
WRITES = ("POST", "PUT", "PATCH", "DELETE")
PROBLEM = "application/problem+json"
ATTRIBUTE = "openapi_access"

GENERIC = {status.name for status in http.HTTPStatus}  # flask-smorest's response components, one per status
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Access:
    roles: tuple[Role, ...]
    scope: str
    errors: frozenset[int]
    if_match: bool
    refused: int | None
    records: bool


def access(*roles: Role, scope: str = "", errors: Iterable[int] = (), if_match: bool = False,
           refused: int | None = 403, records: bool = True) -> Callable[[F], F]:
    """Document who may call an operation and what only this operation answers.

    `roles`: the roles whose tokens may call it (none: an operation that needs no token); `scope`: the limit within
    a role ("the unit in the path only"); `errors`: answers beyond those `complete` derives (404 for a path with
    parameters, 409 and 422 for writes, …); `if_match`: the view reads If-Match (`expected_version()`), required;
    `refused`: what a caller outside the roles or scope gets (403, or 404 where a stranger must learn nothing; None
    where a scope only narrows what the answer holds); `records=False`: a POST that records nothing (no 409 for a
    token revoked while it ran).
    """
    found = Access(tuple(roles), scope, frozenset(errors), if_match, refused, records)

    def decorate(func: F) -> F:
        setattr(func, ATTRIBUTE, found)  # flask-smorest's decorators copy it outward (functools.wraps)
        return func

    return decorate


# Parameters and headers every operation may take or answer.
X_REQUEST_ID = {
    "name": request_ids.HEADER, "in": "header", "required": False,
    "description": "Your id for this request: the events it records, its answer, its problem body and the access "
                   "log carry it. Kept when well-formed, replaced by a fresh one otherwise.",
    "schema": {"type": "string", "pattern": f"^{request_scope.VALID.pattern}$", "maxLength": 128,
               "example": "import-2024-01-7f3a"},
}
IDEMPOTENCY_KEY = {
    "name": idempotency_keys.HEADER, "in": "header", "required": False,
    "description": "Any text of yours, new for each intended write: sent again (a retry after a timeout), the same "
                   "request gets the first answer again (header Idempotent-Replayed: true) and nothing is recorded "
                   "twice; the same key with another request is refused (422 idempotency-key-reused).",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency_keys.LONGEST_KEY,
               "example": "a4b3c2d1-0001"},
}
IF_MATCH = {
    "name": "If-Match", "in": "header", "required": True,
    "description": "The score's version as you read it: the ETag of GET …/scores/{leaf} (\"7\", or 7). Without it "
                   "the write is refused (428); if the score moved since, it is refused (409 version-conflict, with "
                   "`current_version`): read it again and decide again.",
    "schema": {"type": "string", "pattern": f'^(W/)?"?[0-9]{{1,{input_limits.INTEGER_DIGITS_MAX}}}"?$',
               "example": '"3"'},
}
HEADERS = {
    "XRequestID": {"description": "The request's id (yours when well-formed, else a fresh one)",
                   "schema": {"type": "string"}},
    "IdempotentReplayed": {"description": "`true` when this is the first answer to the same Idempotency-Key again",
                           "schema": {"type": "string", "enum": ["true"]}},
    "RetryAfter": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}},
    "WWWAuthenticate": {"description": 'Bearer realm="par-council"', "schema": {"type": "string"}},
}

# The problem+json answers, each with the `type`s it carries (api/problems.py, domain/errors.py).
RESPONSES: dict[int, tuple[str, str, dict[str, str]]] = {
    400: ("MalformedRequest", "The request cannot be read: `malformed-json`, `json-too-deep`, `invalid-characters` "
                              "(U+0000 or an unpaired surrogate in the body, the query or the path), or an "
                              "Idempotency-Key longer than 200 characters (`malformed-request`).", {}),
    401: ("Unauthorized", "No bearer token, or an unknown or revoked one (`unauthorized`).",
          {"WWW-Authenticate": "WWWAuthenticate"}),
    403: ("Forbidden", "The caller's role may not do this (`forbidden-role`), or may, but not for this unit, field or "
                       "ministry (`forbidden-scope`).", {}),
    404: ("NotFound", "The round, unit, leaf, explanation, file, tree or checkpoint named does not exist "
                      "(`not-found`).", {}),
    409: ("Conflict", "Refused in the state the round or the score is in now: `version-conflict` (the score moved "
                      "since it was read; `current_version` says where it is), `window-closed`, `window-open`, "
                      "`windows-overlap`, `window-over`, `round-finished`, `wrong-phase`, `published-by-announcement`, "
                      "`step-out-of-order`, `step-already-recorded`, `already-submitted`, `already-exists`, "
                      "`explanation-already-open`, `explanation-not-open`, `open-explanations`, "
                      "`evidence-already-attached`, `ledger-incomplete`, `unsound-log`, `no-signing-key`, or "
                      "`principal-revoked` (the caller's token was revoked while the request ran).", {}),
    412: ("PreconditionFailed", "If-Match does not hold a version in ASCII digits (`precondition-failed`).", {}),
    413: ("PayloadTooLarge", "The body is over its limit: 8 MiB for JSON, COUNCIL_EVIDENCE_MAX_BYTES for an "
                             "evidence file (`payload-too-large`).", {}),
    415: ("UnsupportedMediaType", "The file's type, detected from its bytes, is not accepted (COUNCIL_EVIDENCE_TYPES) "
                                  "or is not the type the client declared (`unsupported-media-type`).", {}),
    422: ("Unprocessable", "Well-formed but refused: `validation-error` (per-field `errors`), a rule of the appraisal "
                           "(`invalid-points`, `points-out-of-range`, `points-off-grid`, `reason-required`, "
                           "`survey-leaf`, `not-survey-leaf`, `not-targets-leaf`, `incomplete-submission`, "
                           "`invalid-round`, `invalid-framework`, `invalid-document`, `invalid-step`, `step-date`, "
                           "`invalid-query`), or `idempotency-key-reused` (this Idempotency-Key was used with another "
                           "request).", {}),
    428: ("PreconditionRequired", "If-Match is missing: send the version from the score's ETag "
                                  "(`precondition-required`).", {}),
    503: ("ServiceUnavailable", "The database is not answering (`service-unavailable`) or has no tables yet "
                                "(`database-not-initialized`), or the views have not caught up with the write named by "
                                "`after` (`view-behind`): retry after Retry-After seconds.",
          {"Retry-After": "RetryAfter"}),
}


def register(app: Flask, api: Api) -> None:
    """Serve Swagger UI's assets, and complete every OpenAPI document the Api produces (the JSON at
    /api/v1/openapi.json and `flask openapi write` alike) once all blueprints are known."""
    app.register_blueprint(assets)
    generate = api.spec.to_dict
    api.spec.to_dict = lambda: complete(generate(), app)  # type: ignore[method-assign]


assets = Blueprint("openapi-docs-assets", __name__)


@assets.route(f"{ASSETS_URL}<path:filename>")
def asset(filename: str) -> Response:
    """Swagger UI's own files (the docs page's script and style), from the installed package."""
    return send_from_directory(ASSETS, filename, max_age=ASSETS_MAX_AGE)


def complete(generated: dict[str, Any], app: Flask) -> dict[str, Any]:
    """The document with the shared parameters, roles and problem answers added to every operation."""
    document = copy.deepcopy(generated)
    components = document.setdefault("components", {})
    problem = {"$ref": "#/components/schemas/Problem"} if "Problem" in components.get("schemas", {}) else {}
    components.setdefault("headers", {}).update(copy.deepcopy(HEADERS))
    responses = components.setdefault("responses", {})
    for name, description, headers in RESPONSES.values():
        responses[name] = {"description": description, "content": {PROBLEM: {"schema": problem}},
                           **({"headers": {h: {"$ref": f"#/components/headers/{ref}"} for h, ref in headers.items()}}
                              if headers else {})}
    for path, method, operation, protected, keyed, found in operations(document, app):
        _complete_operation(path, method, operation, protected, keyed, found)
    paths = json.dumps(document.get("paths", {}))
    for name in [name for name in responses if name in GENERIC and f'"#/components/responses/{name}"' not in paths]:
        del responses[name]  # flask-smorest's bare "Unprocessable Entity", replaced by the answers above
    return document


def operations(document: dict[str, Any], app: Flask) -> Iterator[tuple[str, str, dict[str, Any], bool, bool,
                                                                        Access | None]]:
    """Each documented operation with what the code says of it: whether its blueprint needs a token, whether
    Idempotency-Key applies to it, and its `access`."""
    for rule in app.url_map.iter_rules():
        path = FlaskPlugin.flaskpath2openapi(rule.rule)
        item = document.get("paths", {}).get(path)
        if item is None:
            continue
        view = app.view_functions[rule.endpoint]
        protected = rule.endpoint.split(".", 1)[0] in auth.PROTECTED
        for method in sorted(rule.methods or ()):
            operation = item.get(method.lower())
            if operation is None:
                continue
            func = getattr(getattr(view, "view_class", None), method.lower(), view)
            yield (path, method, operation, protected, idempotency_keys.keyed(view, method),
                   getattr(func, ATTRIBUTE, None))


def _complete_operation(path: str, method: str, operation: dict[str, Any], protected: bool, keyed: bool,
                        found: Access | None) -> None:
    parameters = operation.setdefault("parameters", [])
    declared = {(p.get("in"), p.get("name", "").lower()) for p in parameters}
    for parameter, wanted in ((X_REQUEST_ID, True), (IDEMPOTENCY_KEY, keyed),
                              (IF_MATCH, found is not None and found.if_match)):
        if wanted and ("header", str(parameter["name"]).lower()) not in declared:
            parameters.append(copy.deepcopy(parameter))
    if not protected:
        operation["security"] = []
    errors = {400, 503}
    if protected:
        errors.add(401)
    if "{" in path:
        errors.add(404)
    if method in WRITES and protected:
        errors.add(422)  # a rule of the appraisal
        if found is None or found.records:
            errors.add(409)  # a token revoked while the request ran, a concurrent write
    if "requestBody" in operation:
        errors |= {413, 422}
    if any(p.get("in") == "query" for p in parameters):
        errors.add(422)
    if keyed:
        errors |= {400, 422}
    if found is not None:
        errors |= found.errors
        if found.refused is not None and protected and (found.scope or set(found.roles) != set(PRINCIPALS)):
            errors.add(found.refused)
        if found.if_match:
            errors |= {409, 412, 428}
        operation["x-roles"] = [str(role) for role in found.roles] if protected else [ANYONE]
        operation["description"] = "\n\n".join(filter(None, [operation.get("description", ""), _who(found, protected)]))
    answers = operation.setdefault("responses", {})
    for status in sorted(errors):
        if str(status) not in answers or _generic(answers[str(status)]):
            answers[str(status)] = {"$ref": f"#/components/responses/{RESPONSES[status][0]}"}
    operation["responses"] = answers = dict(sorted(answers.items(), key=lambda item: (item[0] == "default", item[0])))
    for status, answer in answers.items():
        if status.startswith("2") and "$ref" not in answer:
            headers = answer.setdefault("headers", {})
            headers[request_ids.HEADER] = {"$ref": "#/components/headers/XRequestID"}
            if keyed:
                headers[idempotency_keys.REPLAYED] = {"$ref": "#/components/headers/IdempotentReplayed"}


def _generic(answer: dict[str, Any]) -> bool:
    """flask-smorest's own answer for a status (a reference to its component named after the status), which says
    no more than the status's name: an operation's own description of an answer is kept."""
    return answer.get("$ref", "").removeprefix("#/components/responses/") in GENERIC


def _who(found: Access, protected: bool) -> str:
    if not protected:
        return "**Who may call it:** anyone; no token is needed."
    roles = ", ".join(str(role) for role in found.roles)
    return f"**Who may call it:** {roles}" + (f" ({found.scope})." if found.scope else ".")
