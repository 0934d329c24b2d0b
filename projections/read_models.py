"""The read models: results, audit trail and disputes from the view tables, caught up before each read.

`ReadModels` is given the Council (whose log it folds) by the composition root; it is not part of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain import results
from domain.errors import DomainError, InvalidQueryError, NotFoundError
from domain.framework import Framework
from domain.values import Actor, Role, Unit
from projections.runner import EventLog, Runner, open_view
from projections.tables import CouncilView

AUDIT_FILTERS = ("round_key", "unit", "leaf", "actor", "type", "request_id")
READ_DEADLINE = 2.0


class ViewBehindError(DomainError):
    type = "view-behind"
    status = 503


class ReadModels:
    def __init__(self, council: EventLog, env: Mapping[str, str]) -> None:
        self.council = council
        self.env = dict(env)
        self._runner: Runner | None = None
        self._frameworks: dict[str, Framework] = {}

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = Runner(self.council, open_view(self.env))
        return self._runner

    def fresh_view(self, min_position: int | None = None) -> CouncilView:
        """The view, caught up to the log as it is now (bounded in time); a view that cannot reach
        `min_position` (a client's own write) in time is a 503, never a silently stale answer."""
        runner, started = self.runner, time.monotonic()
        runner.follow()
        head = self.council.recorder.max_notification_id() or 0
        if (min_position or 0) > head:
            raise InvalidQueryError(f"after={min_position}: the log ends at {head}; no such write yet")
        while runner.view.position() < head and time.monotonic() - started < READ_DEADLINE:
            runner.catch_up(until=head)
        if runner.view.position() < (min_position or 0):
            raise ViewBehindError(f"the views are at {runner.view.position()}, not yet at {min_position}")
        return runner.view

    def results(self, key: str, reader: Actor | None = None, min_position: int | None = None) -> dict[str, Any]:
        """Index, components, rank and group per unit, from the final (or current) points of the view.
        Units read the results once published; the Secretariat, the Council and inspectors at any time."""
        view = self.fresh_view(min_position)
        found = view.query("SELECT * FROM {rounds} WHERE round_key = %s", [key])
        if not found:
            raise NotFoundError(f"round {key} not found")
        round_row = found[0]
        if reader is not None and not (reader.role == Role.UNIT and round_row["phase"] == "published"):
            reader.require_role(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR)
        points: dict[str, dict[str, Decimal]] = {}
        for row in view.query("SELECT unit, leaf, points, final_points FROM {scores} WHERE round_key = %s", [key]):
            value = row["final_points"] if row["final_points"] is not None else row["points"]
            points.setdefault(row["unit"], {})[row["leaf"]] = Decimal(value if value is not None else "0.00")
        units = [Unit.from_dict(u) for u in json.loads(round_row["units"])]
        thresholds = {k: Decimal(v) for k, v in json.loads(round_row["thresholds"]).items()}
        computed = results.compute(self._framework(round_row["framework"]), units, points, thresholds)
        return {"round": key, "phase": round_row["phase"], "units": computed, "averages": results.averages(computed)}

    def audit(self, filters: Mapping[str, Any], reader: Actor, cursor: int = 0, limit: int = 100,
              min_position: int | None = None) -> dict[str, Any]:
        """Audit rows after `cursor` (a position), oldest first; `next_cursor` pages on without gaps."""
        filters = _scoped(filters, reader)
        where: list[str] = ["position > %s"]
        params: list[Any] = [cursor]
        for name in AUDIT_FILTERS:
            if filters.get(name):
                where.append(f"{name} = %s")
                params.append(filters[name])
        for name, op in (("since", ">="), ("until", "<")):
            if filters.get(name):
                where.append(f"recorded_at {op} %s")
                params.append(_utc(filters[name]))
        rows = self.fresh_view(min_position).query(
            f"SELECT * FROM {{audit}} WHERE {' AND '.join(where)} ORDER BY position LIMIT {int(limit) + 1}", params)
        page = [dict(row) for row in rows[:limit]]
        return {"items": page, "next_cursor": page[-1]["position"] if len(rows) > limit else None}

    def disputes(self, key: str, reader: Actor, unit: str | None = None, state: str | None = None,
                 min_position: int | None = None) -> list[dict[str, Any]]:
        unit = _scoped({"unit": unit}, reader).get("unit")
        where, params = ["round_key = %s"], [key]
        for name, value in (("unit", unit), ("state", state)):
            if value:
                where.append(f"{name} = %s")
                params.append(value)
        rows = self.fresh_view(min_position).query(
            f"SELECT * FROM {{disputes}} WHERE {' AND '.join(where)} ORDER BY unit, leaf, explanation_id", params)
        return [dict(row) for row in rows]

    def status(self) -> dict[str, Any]:
        self.runner.follow()
        view = self.runner.view
        head, position = self.council.recorder.max_notification_id() or 0, view.position()
        return {"name": "council", "generation": view.generation, "position": position, "head": head,
                "lag": max(head - position, 0)}

    def rebuild(self, progress: Callable[[int], None] | None = None, switch: bool = True) -> int:
        """Fill a fresh generation of tables from the whole log; readers switch over only when it is done."""
        current = self.runner.view
        generation = current.active_generation() + 1
        fresh = open_view(self.env, generation=generation)
        try:
            fresh.drop_view_tables()
            fresh.create_view_tables()
            Runner(self.council, fresh, page=5000, follow_active=False).rebuild(progress=progress)
            if switch:
                fresh.switch_to(generation)
                fresh.generation = current.generation
                fresh.drop_view_tables()  # the old generation's tables, through the same connection pool
        finally:
            fresh.close()
        return generation

    def close(self) -> None:
        if self._runner is not None:
            self._runner.view.close()
            self._runner = None

    def _framework(self, data: str) -> Framework:
        if data not in self._frameworks:
            self._frameworks[data] = Framework.from_data(json.loads(data))
        return self._frameworks[data]


def _scoped(filters: Mapping[str, Any], reader: Actor) -> dict[str, Any]:
    """A unit officer reads their own unit only; the Secretariat, the Council and inspectors read all."""
    unit = filters.get("unit")
    if unit:
        reader.require_reader(unit)
        return dict(filters)
    if reader.role == Role.UNIT:
        return {**filters, "unit": reader.unit}
    reader.require_role(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR)
    return dict(filters)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()
