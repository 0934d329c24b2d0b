"""The pages' session cookie: Flask's signed cookie (HttpOnly, SameSite=Lax, eight hours after the last request),
holding the bearer token sealed, under secrets derived (HKDF-SHA256) from COUNCIL_SECRET_KEY when set, else from the
signing key, so no secret is written in code and a rotation of the key ends every session."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, Request, current_app
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from api import wiring

EXTENSION = "par-council-pages"
COOKIE_PURPOSE = b"par-council page session cookie v1"
TOKEN_PURPOSE = b"par-council page session token v1"
LIFETIME = timedelta(hours=8)  # a working day; every request moves the end on


@dataclass(frozen=True)
class Secrets:
    cookie: bytes  # signs the cookie (Flask's secret key, and Flask-WTF's)
    token: Fernet  # seals the bearer token inside it: a cookie read off a disk is no API token

    def seal(self, token: str) -> str:
        return self.token.encrypt(token.encode()).decode("ascii")

    def unseal(self, sealed: object) -> str | None:
        try:
            return self.token.decrypt(str(sealed).encode("ascii")).decode() if sealed else None
        except (InvalidToken, UnicodeError):
            return None


def derive(material: bytes) -> Secrets:
    def hkdf(purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material)

    return Secrets(hkdf(COOKIE_PURPOSE), Fernet(base64.urlsafe_b64encode(hkdf(TOKEN_PURPOSE))))


class Keeper:
    """The current secrets, derived again when the key file changes (one stat a request, as the keyring does)."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self._stamp: Any = object()
        self._secrets: Secrets | None = None

    def current(self) -> Secrets | None:
        """None while there is neither COUNCIL_SECRET_KEY nor a signing key (`council db init` makes the key)."""
        if self.env.get("COUNCIL_SECRET_KEY"):
            return self._derived(("env",), lambda: self.env["COUNCIL_SECRET_KEY"].encode())
        settings = current_app.extensions[wiring.EXTENSION].settings
        if settings.signing_key_pem:
            return self._derived(("pem",), lambda: _raw_key(settings.signing_key_pem.encode()))
        return self._derived(_stamp(settings.key_file), lambda: _raw_key(settings.key_file.read_bytes()))

    def _derived(self, stamp: Any, material: Any) -> Secrets | None:
        if stamp != self._stamp:
            self._secrets = None if stamp is None else derive(material())
            self._stamp = stamp
        if self._secrets is not None:
            current_app.secret_key = self._secrets.cookie
        return self._secrets


def _raw_key(pem: bytes) -> bytes:
    """The private key's raw bytes: the same key gives the same secrets whatever its PEM's line endings."""
    key = serialization.load_pem_private_key(pem, password=None)
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,  # type: ignore[union-attr]
                             serialization.NoEncryption())


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_mtime_ns, found.st_size


def secrets() -> Secrets | None:
    keeper: Keeper = current_app.extensions[EXTENSION]
    return keeper.current()


class KeyedSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions under the derived secret; a request without the cookie (every API call) derives
    nothing."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> Any:
        return None if secrets() is None else super().get_signing_serializer(app)


def install(app: Flask) -> None:
    env = app.config["COUNCIL_ENV"] or os.environ
    app.extensions[EXTENSION] = Keeper(env)
    app.session_interface = KeyedSessions()
    app.config.update(SESSION_COOKIE_NAME="council_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=LIFETIME,
                      SESSION_COOKIE_SECURE=env.get("COUNCIL_COOKIE_SECURE", "").lower() in ("1", "true", "yes"))
