"""Idempotency-Key on every POST and PUT, exactly once: the key is claimed in the transaction of the events the
request records (council/infra/recorders.py), so a key found means its write is in the log, once. The same key
and body get the first answer again (rebuilt from the receipts stored with the claim); another body is refused;
a refused request does not use its key up."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_smorest import abort

from api import auth
from api.wiring import REPLAY, idempotency
from council.infra.idempotency_store import Claimed
from council.services.application import KeyClaimedError
from council.services.write_guard import Claim, Guard, guarded
from domain.errors import DomainError

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
LONGEST_KEY = 200
CONCURRENT_WAIT = 0.5  # seconds a refused twin looks for the winner's claim (committed before the refusal)
METHODS = ("POST", "PUT")  # the writes a key makes exactly-once; other methods run guarded, without one
GUARDED = "idempotency_guarded"  # marks the views `install` wrapped (the OpenAPI document declares the key from it)


def request_hash() -> str:
    digest = hashlib.sha256(f"{request.method} {request.full_path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def guard(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run a protected view under the request's write guard; with a key, at most once."""

    @wraps(view)
    def guarded_view(**kwargs: Any) -> Any:
        base: Guard = g.get("guard") or Guard()
        key = request.headers.get(HEADER, "").strip()
        if request.method not in METHODS or not key:
            with guarded(base):
                return view(**kwargs)
        if len(key) > LONGEST_KEY:
            abort(400, message=f"{HEADER} is at most {LONGEST_KEY} characters")
        claim = Claim(g.actor.id, key, request_hash())
        found = idempotency().lookup(claim.principal, claim.key)
        if found is not None:
            return replay(view, kwargs, claim, found)
        try:
            with guarded(Guard(claim, base.principal_stream, base.principal_version)):
                return view(**kwargs)
        except KeyClaimedError:
            found = _winner(claim, CONCURRENT_WAIT)  # the same key committed first: its answer is the answer
            if found is None:
                raise
            return replay(view, kwargs, claim, found)
        except DomainError:
            found = _winner(claim, 0)  # refused because a same-key request had just recorded? then answer that
            if found is None:
                raise
            return replay(view, kwargs, claim, found)

    setattr(guarded_view, GUARDED, True)
    return guarded_view


def keyed(view: Callable[..., Any], method: str) -> bool:
    """Whether a view, as the app serves it, takes Idempotency-Key on `method` (api/openapi_docs.py declares it)."""
    return method.upper() in METHODS and bool(getattr(view, GUARDED, False))


def _winner(claim: Claim, wait: float) -> Claimed | None:
    deadline = time.monotonic() + wait
    while True:
        found = idempotency().lookup(claim.principal, claim.key)
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def replay(view: Callable[..., Any], kwargs: dict[str, Any], claim: Claim, found: Claimed) -> Response:
    """The view again, its service calls answered from the recorded receipts instead of executed."""
    if found.request_hash != claim.request_hash:
        abort(422, message=f"this {HEADER} was used with another request", type="idempotency-key-reused")
    if not auth.still_signed_in():  # a replay saves nothing, so no write guard would catch a revocation
        abort(401, message="the token is unknown or revoked")
    g.setdefault(REPLAY, found.outcome)
    response = current_app.make_response(view(**kwargs))
    response.headers[REPLAYED] = "true"
    return response


def install(app: Flask) -> None:
    """Wrap the views of every protected blueprint (after they are registered)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.split(".", 1)[0] in auth.PROTECTED:
            app.view_functions[endpoint] = guard(view)
