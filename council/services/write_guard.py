"""What every save of the request in progress must also hold, in the same transaction as its events:
the Idempotency-Key it claims, and that its principal was not revoked (or its token rotated) since the request
was authenticated. Set where a request enters (the API), read by `CouncilBase._save` and checked by the
recorders (council/infra/recorders.py) while the events table is locked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

# How long an Idempotency-Key is remembered: a client retries within minutes; a day covers a night's outage.
KEY_LIFETIME_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Claim:
    """An Idempotency-Key: recorded with the events of the command's final save, or not at all."""

    principal: str
    key: str
    request_hash: str


@dataclass
class Guard:
    claim: Claim | None = None
    principal_stream: UUID | None = None
    principal_version: int | None = None


@dataclass
class Pending:
    """What a save hands its recorder: the guard, and the receipts it will record (notification ids come from
    the insert)."""

    guard: Guard
    request_id: str
    stubs: list[dict[str, Any]] = field(default_factory=list)

    def outcome(self, notification_ids: Sequence[int]) -> str:
        return json.dumps([{**stub, "notification_id": nid} for stub, nid in zip(self.stubs, notification_ids,
                                                                                    strict=True)])

    @staticmethod
    def expires_at() -> int:
        """Wall-clock seconds: a key's lifetime is an operational matter, not the appraisal's (simulated) time."""
        return int(time.time()) + KEY_LIFETIME_SECONDS


_current: ContextVar[Guard | None] = ContextVar("council_write_guard", default=None)


def current_guard() -> Guard | None:
    return _current.get()


@contextmanager
def guarded(guard: Guard) -> Iterator[Guard]:
    token = _current.set(guard)
    try:
        yield guard
    finally:
        _current.reset(token)
