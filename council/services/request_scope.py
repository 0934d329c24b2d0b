"""The id of the request (HTTP request, CLI command, scheduler job) that the events being recorded belong to.

Set once where a request enters (the API's before-request hook, the CLI's main, each job) and read by
`CouncilBase.context`, so no service signature carries it and no caller can forget it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# What an incoming X-Request-ID may hold to be kept: short, printable, no spaces (it reaches logs and CSV).
VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
_current: ContextVar[str | None] = ContextVar("council_request_id", default=None)


def new_request_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def accepted(candidate: str | None) -> str | None:
    """The incoming id when it is well-formed, else None (the caller then makes one)."""
    return candidate if candidate and VALID.fullmatch(candidate) else None


def current_request_id() -> str:
    """The id of the request in progress; a call outside any scope gets an id of its own."""
    return _current.get() or new_request_id("local-")


def begin(request_id: str) -> object:
    """Enter a request (returns a token for `end`); for hooks that cannot wrap the request in a `with`."""
    return _current.set(request_id)


def end(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    token = _current.set(request_id or new_request_id())
    try:
        yield _current.get() or ""
    finally:
        _current.reset(token)
