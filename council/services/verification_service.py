"""Integrity services: recompute every stream's hash chain over the log; check a write's receipt."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from council.services.application import CouncilBase
from domain.base import event_type
from domain.integrity import GENESIS, first_broken, link_problem

PAGE = 1000


class VerificationServices(CouncilBase):
    def verify(self, round_key: str | None = None) -> dict[str, Any]:
        """Walk the whole notification log once; name the first event whose link or hash does not match."""
        last_hash: dict[UUID, str] = {}
        stream_round: dict[UUID, str | None] = {}
        checked, start = 0, 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=PAGE)
            for notification in page:
                event = self.mapper.to_domain_event(notification)
                stream = event.originator_id
                if event.originator_version == 1:
                    data = event.__dict__
                    stream_round[stream] = data.get("round_key") or data.get("key")
                if round_key is not None and stream_round.get(stream) != round_key:
                    continue
                checked += 1
                problem = link_problem(event, last_hash.get(stream, GENESIS))
                if problem:
                    return _report(checked, len(last_hash) + 1, notification.id, event, problem)
                last_hash[stream] = event.hash  # type: ignore[attr-defined]
            if len(page) < PAGE:
                return _report(checked, len(last_hash), None, None, None)
            start = page[-1].id + 1

    def verify_receipt(self, stream: UUID, version: int, event_hash: str) -> dict[str, Any]:
        """A receipt holds when its event is in the log with that hash and the chain up to it is intact."""
        events = list(self.events.get(stream, lte=version))
        if not events or events[-1].originator_version != version:
            return {"valid": False, "reason": "no such event in the log"}
        if events[-1].hash != event_hash:  # type: ignore[attr-defined]
            return {"valid": False, "reason": "the event in the log has another hash"}
        broken = first_broken(events)
        if broken is not None:
            return {"valid": False, "reason": f"version {broken[0].originator_version}: {broken[1]}"}
        return {"valid": True, "reason": "the event is in the log and its chain is intact"}


def _report(checked: int, streams: int, position: int | None, event: Any, problem: str | None) -> dict[str, Any]:
    broken = None if event is None else {
        "position": position, "stream": str(event.originator_id), "version": event.originator_version,
        "type": event_type(event), "reason": problem}
    return {"valid": broken is None, "events_checked": checked, "streams": streams, "first_broken": broken}
