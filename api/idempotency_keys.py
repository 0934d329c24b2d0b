"""Idempotency-Key on every POST and PUT: the same key and body replay the first answer, another body is refused."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, g, request
from flask_smorest import abort

from api.wiring import idempotency

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Content-Type", "ETag", "Location")


def request_hash() -> str:
    digest = hashlib.sha256(f"{request.method} {request.full_path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def replay_or_refuse() -> Response | None:
    """Before the view (after authentication): an answered key replays; a reused key with another body is 422."""
    key = request.headers.get(HEADER, "").strip()
    if request.method not in ("POST", "PUT") or not key:
        return None
    if len(key) > 200:
        abort(400, message=f"{HEADER} is at most 200 characters")
    g.idempotency = (g.actor.id, key, request_hash())
    stored = idempotency().lookup(g.actor.id, key)
    if stored is None:
        return None
    if stored.request_hash != g.idempotency[2]:
        abort(422, message=f"this {HEADER} was used with another request", type="idempotency-key-reused")
    response = Response(stored.body, status=stored.status, headers=stored.headers)
    response.headers[REPLAYED] = "true"
    return response


def remember(response: Response) -> Response:
    """After the view: keep the answer unless the server failed (a 5xx may be retried with the same key)."""
    pending = g.pop("idempotency", None)
    if pending is None or response.status_code >= 500 or response.headers.get(REPLAYED):
        return response
    headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    stored = idempotency().save(*pending, response.status_code, response.get_data(as_text=True), headers)
    if stored.request_hash == pending[2] and stored.body != response.get_data(as_text=True):
        # A concurrent request with the same key was answered first: everyone gets that answer.
        replay = Response(stored.body, status=stored.status, headers=stored.headers)
        replay.headers[REPLAYED] = "true"
        return replay
    return response


def attach(blueprint: Blueprint) -> None:
    blueprint.before_request(replay_or_refuse)
    blueprint.after_request(remember)
