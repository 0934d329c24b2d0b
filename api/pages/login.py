"""Signing in and out of the pages: a bearer token exchanged for a session, checked again on every request through
the API's own `sign_in`, so a revoked or replaced token ends the session at once; CSRF on every form."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_wtf.csrf import CSRFProtect

from api import auth
from api.pages import blp, cookies, i18n

csrf = CSRFProtect()
OPEN_ENDPOINTS = {"pages.login"}
TOKEN_MAX = 512  # tokens are 43 characters; anything far longer is no token


@blp.before_request
def signed_in() -> Any:
    """Every page needs a session (else to /login, and back afterwards) and every form its CSRF token (400)."""
    if request.endpoint == "pages.static":
        return None
    found = cookies.secrets()
    if found is None:
        abort(503, gettext("The server has no signing key yet: run `council db init`."))
    i18n.remember_language()
    if request.endpoint not in OPEN_ENDPOINTS and not holds_a_session(found):
        back = request.full_path.rstrip("?") if request.method == "GET" else None  # never a form sent again
        return redirect(url_for("pages.login", next=back))
    csrf.protect()  # POST, PUT, PATCH, DELETE
    return None


def holds_a_session(found: cookies.Secrets) -> bool:
    """The session's token still stands for its principal (read again now: revoked or replaced, it ends here)."""
    token = found.unseal(session.get("token"))
    if token is not None and auth.sign_in(token) is not None:
        return True
    if token is not None:
        flash(gettext("Your session has ended: the token was revoked or replaced. Sign in again."), "error")
    session.pop("token", None)
    return False


@blp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target)
    token, found = request.form.get("token", "").strip(), cookies.secrets()
    if found is None or not token or len(token) > TOKEN_MAX or auth.sign_in(token) is None:
        flash(gettext("This token is unknown, revoked or replaced."), "error")
        return render_template("login.html", next=target), 401
    language = session.get("lang")
    session.clear()  # a new session for the new principal: nothing of the one before carries over but the language
    session.update({"token": found.seal(token), **({"lang": language} if language else {})})
    session.permanent = True
    return redirect(target)


@blp.route("/logout", methods=["POST"])
def logout() -> Any:
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("pages.login"))


def safe_next(target: str | None) -> str:
    """Only a path of this site: never another host (`//evil`, `https://…`), never a page that needs no session."""
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or parts.path in ("/login", "/logout"):
        return url_for("pages.home")
    return target


@blp.context_processor
def whoami() -> dict[str, Any]:
    return {"me": g.get("actor")}
