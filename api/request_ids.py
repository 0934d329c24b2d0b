"""X-Request-ID: every request gets an id (a well-formed incoming one is kept), every event it records carries
it, and the answer, its problem body and the access log show it."""

from __future__ import annotations

from flask import Flask, Response, g, has_request_context, request

from council.services import request_scope

HEADER = "X-Request-ID"


def begin() -> None:
    g.request_id = request_scope.accepted(request.headers.get(HEADER)) or request_scope.new_request_id()
    g.request_scope = request_scope.begin(g.request_id)


def answer(response: Response) -> Response:
    if "request_id" in g:
        response.headers[HEADER] = g.request_id
    return response


def end(_: BaseException | None) -> None:
    token = g.pop("request_scope", None)
    if token is not None:
        request_scope.end(token)


def current() -> str | None:
    """The id of the request being answered, for problem bodies (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


def register(app: Flask) -> None:
    app.before_request(begin)
    app.after_request(answer)
    app.teardown_request(end)
