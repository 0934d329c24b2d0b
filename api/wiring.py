"""The API's access to the process's components: built once by the composition root, on first use (so after
gunicorn forked the worker), and built again on a later request if the first try failed (database down,
tables missing)."""

from __future__ import annotations

import threading

from flask import current_app

from council import bootstrap
from council.infra.clock import Clock
from council.infra.idempotency_store import IdempotencyStore
from council.infra.settings import Settings
from council.services import Council
from projections.read_models import ReadModels

EXTENSION = "par-council"


class Wiring:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._components: bootstrap.Components | None = None
        self._lock = threading.Lock()

    def get(self) -> bootstrap.Components:
        if self._components is None:
            with self._lock:
                if self._components is None:
                    self._components = bootstrap.build(self.settings, clock=self.clock)
        return self._components

    def close(self) -> None:
        with self._lock:
            if self._components is not None:
                self._components.close()
                self._components = None


def components() -> bootstrap.Components:
    wiring: Wiring = current_app.extensions[EXTENSION]
    return wiring.get()


def council() -> Council:
    return components().council


def read_models() -> ReadModels:
    return components().read_models


def idempotency() -> IdempotencyStore:
    return components().idempotency
