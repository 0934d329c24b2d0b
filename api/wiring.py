"""The API's access to the process's components: built once by the composition root, on first use (so after
gunicorn forked the worker), and built again on a later request if the first try failed (database down,
tables missing)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app, g

from council import bootstrap
from council.infra.clock import Clock
from council.infra.idempotency_store import IdempotencyStore
from council.infra.settings import Settings
from council.services import Council
from council.services.application import Receipt
from projections.read_models import ReadModels

EXTENSION = "par-council"
REPLAY = "idempotent_outcome"


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
    """The Council; while a request is replayed (api/idempotency_keys.py), one whose writes answer from the
    receipts recorded by the first request instead of executing."""
    outcome = g.get(REPLAY)
    if outcome is not None:
        return Replayed(components().council, outcome)  # type: ignore[return-value]
    return components().council


def read_models() -> ReadModels:
    return components().read_models


def idempotency() -> IdempotencyStore:
    return components().idempotency


def _receipt(stub: dict[str, Any]) -> Receipt:
    return Receipt(stream=stub["stream"], version=stub["version"], type=stub["type"], event_hash=stub["event_hash"],
                   recorded_at=datetime.fromisoformat(stub["recorded_at"]), notification_id=stub["notification_id"],
                   request_id=stub["request_id"])


def _last(outcome: list[dict[str, Any]]) -> Receipt:
    return _receipt(outcome[-1])


def _every(outcome: list[dict[str, Any]]) -> list[Receipt]:
    return [_receipt(stub) for stub in outcome]


def _attached(outcome: list[dict[str, Any]]) -> Receipt:
    return _receipt(next(stub for stub in reversed(outcome) if stub["type"] == "evidence-attached"))


def _filed(outcome: list[dict[str, Any]]) -> tuple[str, Receipt]:
    stub = next(stub for stub in reversed(outcome) if "explanation_id" in stub)
    return stub["explanation_id"], _receipt(stub)


def _stored(outcome: list[dict[str, Any]]) -> dict[str, Any]:
    stub = next(stub for stub in outcome if "sha256" in stub)
    return {name: stub[name] for name in ("sha256", "size", "media_type")}


# What each write service returned the first time, rebuilt from the receipts of its final save.
SHAPES: dict[str, Callable[[list[dict[str, Any]]], Any]] = {
    "open_round": _last, "advance_phase": _last, "extend_window": _last, "self_score": _last,
    "propose": _last, "adjust": _last, "decide_explanation": _last, "submit": _last,
    "attach_stored_evidence": _last, "withdraw_evidence": _last, "attach_evidence": _last,
    "upload_evidence": _attached, "file_explanation": _filed, "store_evidence": _stored,
    "self_assess": _every, "propose_many": _every, "import_survey": _every, "record_survey": _every,
}


class Replayed:
    """The Council seen by a replayed request: writes answer from the outcome, reads go to the Council."""

    def __init__(self, real: Council, outcome: list[dict[str, Any]]) -> None:
        self._real, self._outcome = real, outcome

    def __getattr__(self, name: str) -> Any:
        shape = SHAPES.get(name)
        if shape is None:
            return getattr(self._real, name)
        return lambda *args, **kwargs: shape(self._outcome)
