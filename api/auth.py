"""Bearer tokens: every endpoint but health and the API documents needs one."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_smorest import abort

from api import idempotency_keys
from api.wiring import council
from domain.values import Actor


def authenticate() -> None:
    """Before any body is read: 401 problem when the token is missing, unknown or revoked."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="send Authorization: Bearer <token>")
    found = council().authenticate(token.strip())
    if found is None:
        abort(401, message="the token is unknown or revoked")
    g.actor = found


def protect(blueprint: Blueprint) -> Blueprint:
    """Authenticate every request of the blueprint, then apply Idempotency-Key to its writes."""
    blueprint.before_request(authenticate)
    idempotency_keys.attach(blueprint)
    return blueprint


def actor() -> Actor:
    return g.actor
