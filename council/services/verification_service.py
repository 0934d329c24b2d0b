"""Integrity services: recompute every stream's hash chain over the log; check a write's receipt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from council.infra.keyring import rfc3339
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

    def verify_receipt(self, receipt: Mapping[str, Any]) -> dict[str, Any]:
        """A receipt holds when its signature (if it carries one) is the council's over its fields, its event is
        in the log with that hash, type, time, request and position, and the chain up to it is intact."""
        signed = bool(receipt.get("key_id") or receipt.get("signature"))
        verdict = self._receipt_problem(receipt, signed)
        if verdict is not None:
            return {"valid": False, "signed": signed, "reason": verdict}
        what = "its signature is the council's, " if signed else "it is not signed, but "
        return {"valid": True, "signed": signed, "reason": f"{what}the event is in the log and its chain is intact"}

    def _receipt_problem(self, receipt: Mapping[str, Any], signed: bool) -> str | None:
        if signed:
            if self.keyring is None:
                return "no keyring to check the signature with"
            problem = self.keyring.check_receipt(receipt)
            if problem is not None:
                return problem
        stream, version = UUID(str(receipt["stream"])), int(receipt["version"])
        events = list(self.events.get(stream, lte=version))
        if not events or events[-1].originator_version != version:
            return "no such event in the log"
        event = events[-1]
        if event.hash != receipt["event_hash"]:  # type: ignore[attr-defined]
            return "the event in the log has another hash"
        mismatch = self._fields_mismatch(event, receipt)
        if mismatch is not None:
            return mismatch
        broken = first_broken(events)
        if broken is not None:
            return f"version {broken[0].originator_version}: {broken[1]}"
        return None

    def _fields_mismatch(self, event: Any, receipt: Mapping[str, Any]) -> str | None:
        """The receipt's other fields, when it has them, against the event and its position in the log."""
        found = {"type": event_type(event), "request_id": getattr(event, "request_id", None),
                 "recorded_at": rfc3339(event.timestamp)}
        claimed = dict(receipt)
        if claimed.get("recorded_at") is not None:
            claimed["recorded_at"] = rfc3339(claimed["recorded_at"])
        for name, value in found.items():
            if claimed.get(name) is not None and claimed[name] != value:
                return f"the event in the log has another {name}: {value!r}, not {claimed[name]!r}"
        position = receipt.get("notification_id")
        if position is not None:
            at = self.recorder.select_notifications(start=int(position), limit=1, stop=int(position))
            if not at or at[0].originator_id != event.originator_id or \
                    at[0].originator_version != event.originator_version:
                return f"the event is not at position {position} of the log"
        return None


def _report(checked: int, streams: int, position: int | None, event: Any, problem: str | None) -> dict[str, Any]:
    broken = None if event is None else {
        "position": position, "stream": str(event.originator_id), "version": event.originator_version,
        "type": event_type(event), "reason": problem}
    return {"valid": broken is None, "events_checked": checked, "streams": streams, "first_broken": broken}
