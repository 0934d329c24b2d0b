"""Bearer tokens: every endpoint but health and the API documents needs one."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_smorest import abort

from api.wiring import council
from council.services.write_guard import Guard
from domain.values import Actor

PROTECTED: set[str] = set()  # blueprint names whose views api/idempotency_keys.py guards


def authenticate() -> None:
    """Before any body is read: 401 problem when the token is missing, unknown or revoked. Writes of the request
    are then guarded against a revocation that commits before they do."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="send Authorization: Bearer <token>")
    found = council().session(token.strip())
    if found is None:
        abort(401, message="the token is unknown or revoked")
    g.actor = found.actor
    g.guard = Guard(principal_stream=found.principal_stream, principal_version=found.principal_version)


def protect(blueprint: Blueprint) -> Blueprint:
    """Authenticate every request of the blueprint; its views get the write guard and Idempotency-Key."""
    blueprint.before_request(authenticate)
    PROTECTED.add(blueprint.name)
    return blueprint


def actor() -> Actor:
    return g.actor
