"""Per-app access to the Council application, built on first use (after gunicorn forked the worker)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from flask import current_app

from council import bootstrap
from council.app import Council
from council.application import utcnow
from council.idempotency import IdempotencyStore


class Services:
    def __init__(self, env: Mapping[str, str] | None, clock: Callable[[], datetime] = utcnow) -> None:
        self.env = env
        self.clock = clock
        self._council: Council | None = None
        self.idempotency: IdempotencyStore | None = None
        self._lock = threading.Lock()

    @property
    def council(self) -> Council:
        if self._council is None:
            with self._lock:
                if self._council is None:
                    self._council = bootstrap.build(self.env, clock=self.clock)
        return self._council

    def close(self) -> None:
        if self.idempotency is not None:
            self.idempotency.close()
            self.idempotency = None
        if self._council is not None:
            self._council.close()
            self._council = None


def council() -> Council:
    return current_app.extensions["par-council"].council
