"""Reads straight from the streams: a score now or as of a version or time, its history, results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from council.services.application import CouncilBase
from domain.base import event_type, reason_of
from domain.errors import InvalidQueryError, NotFoundError
from domain.framework import Framework
from domain.ids import score_id
from domain.integrity import canonical, payload_of
from domain.score import Score
from domain.values import Actor, ScoreAddress


class ScoreQueries(CouncilBase):
    def framework(self, key: str) -> Framework:
        """The criteria tree a round was opened with (copied into its first event)."""
        return self._round(key).framework

    def score(self, at: ScoreAddress, *, version: int | None = None, as_of: datetime | None = None,
              reader: Actor | None = None) -> dict[str, Any]:
        """A score's state now, after its first `version` events, or as it stood at `as_of`."""
        return self.history(at, version=version, as_of=as_of, reader=reader)["state"]

    def history(self, at: ScoreAddress, *, version: int | None = None, as_of: datetime | None = None,
                reader: Actor | None = None) -> dict[str, Any]:
        """The replay an inspector reads: every event up to the cut, with points before → after.
        `reader` (from the API) must be allowed to read the unit; None is the trusted local caller."""
        if reader is not None:
            reader.require_reader(at.unit)
        if as_of is not None and as_of.tzinfo is None:
            raise InvalidQueryError("as_of needs a time zone (e.g. 2025-03-10T09:00:00+07:00)")
        events = self._events(at)
        broken = _first_break(events, self.first_unsound)
        score: Score | None = None
        entries = []
        for event in events:
            if (version is not None and event.originator_version > version) or (
                    as_of is not None and event.timestamp > as_of) or (
                    broken is not None and event.originator_version >= broken["version"]):
                break  # a replay never runs past a break: what follows cannot be trusted, nor even applied
            before = score.points if score is not None else None
            score = event.mutate(score)
            entries.append(_entry(event, before, score.points))
        return {"state": as_dict(score) if score is not None else None, "events": entries,
                "verified": broken is None, "broken": broken}

    def unit_scores(self, key: str, unit: str, reader: Actor | None = None) -> list[dict[str, Any]]:
        if reader is not None:
            reader.require_reader(unit)
        rnd = self._round(key)
        rnd.unit(unit)
        found = []
        for leaf in rnd.framework.leaves():
            score = self._peek(score_id(key, unit, leaf.code))
            if score is not None:
                found.append(as_dict(score))
        return found

    def _events(self, at: ScoreAddress) -> list[Any]:
        events = list(self.events.get(score_id(at.round_key, at.unit, at.leaf)))
        if not events:
            raise NotFoundError(f"no score recorded for {at}")
        return events


def _first_break(events: list[Any],
                 first_unsound: Callable[[list[Any]], tuple[Any, str] | None]) -> dict[str, Any] | None:
    """The first version at which the stream stops being its own record: a missing version (an event deleted),
    or an event whose link, hash or seal does not match."""
    for expected, event in enumerate(events, start=1):
        if event.originator_version != expected:
            return {"version": expected, "reason": f"version {expected} is missing from the log "
                                                   f"(the next stored is {event.originator_version})"}
    found = first_unsound(events)
    if found is None:
        return None
    return {"version": found[0].originator_version, "reason": found[1]}


def _entry(event: Any, before: Decimal | None, after: Decimal | None) -> dict[str, Any]:
    payload = payload_of(event)
    actor = payload.pop("actor")
    return {
        "version": event.originator_version, "type": event_type(event), "recorded_at": event.timestamp,
        "actor": canonical(actor), "request_id": payload.pop("request_id"),
        "reason": reason_of(event),
        "points_before": before, "points_after": after, "data": payload,
        "prev_hash": event.prev_hash, "hash": event.hash,
    }


def as_dict(score: Score) -> dict[str, Any]:
    """The plain state of a score, as the services hand it out."""
    return {
        "round": score.round_key, "unit": score.unit, "leaf": score.leaf, "field": score.field,
        "method": score.method, "max_points": score.max_points, "self_points": score.self_points,
        "proposed_points": score.proposed_points, "adjusted_points": score.adjusted_points,
        "points": score.points, "final_points": score.final_points, "status": score.status,
        "evidence": [asdict(doc) for doc in score.evidence.values()],
        "missing_evidence_note": score.missing_evidence_note,
        "explanations": dict(score.explanations), "preliminary_accepted": score.preliminary_accepted,
        "version": score.version, "hash": score.last_hash,
    }
