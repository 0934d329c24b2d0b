"""Who is calling: a bearer token on the API, a session made from one on the pages, checked the same way."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_smorest import abort

from api.wiring import council
from council.services.principal_service import Session
from council.services.write_guard import Guard
from domain.values import Actor

PROTECTED: set[str] = set()  # blueprint names whose views api/idempotency_keys.py guards


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def sign_in(token: str, *, fresh: bool = True) -> Session | None:
    """The one check of a token, for the API's bearer header and the pages' session alike: the principal is read
    from the log, so a revoked or rotated token stops working at once. On success the request acts as its
    principal (`g.actor`), and its writes are guarded against a revocation that commits before they do.

    `fresh=False` (the API's writes) takes the principal as this process last read it: the write's save checks
    the principal's version again inside the events' transaction, so a revocation made elsewhere meanwhile
    refuses it (409 principal-revoked) and nothing is recorded (docs/decisions/0007)."""
    found = council().session(token, fresh=fresh)
    if found is not None:
        g.actor = found.actor
        g.guard = Guard(principal_stream=found.principal_stream, principal_version=found.principal_version)
    return found


def still_signed_in() -> bool:
    """Whether the request's principal, read from the log now, is still the version it was signed in as: for a
    write answered without a save (an Idempotency-Key's replay), which the write guard never sees."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    found = council().session(token.strip(), fresh=True) if scheme.lower() == "bearer" else None
    guard: Guard | None = g.get("guard")
    return found is not None and guard is not None and found.principal_version == guard.principal_version


def authenticate() -> None:
    """Before any body is read: 401 problem when the token is missing, unknown or revoked."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="send Authorization: Bearer <token>")
    if sign_in(token.strip(), fresh=request.method in SAFE_METHODS) is None:
        abort(401, message="the token is unknown or revoked")


def protect(blueprint: Blueprint) -> Blueprint:
    """Authenticate every request of the blueprint; its views get the write guard and Idempotency-Key."""
    blueprint.before_request(authenticate)
    PROTECTED.add(blueprint.name)
    return blueprint


def actor() -> Actor:
    return g.actor
