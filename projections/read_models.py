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

from eventsourcing.persistence import OperationalError, ProgrammingError

from domain import rescore, results
from domain.errors import DomainError, InvalidQueryError, NotFoundError
from domain.framework import Framework
from domain.results import UnitResult
from domain.values import Actor, Role, Unit
from projections.rows import LedgerRow
from projections.runner import REBUILD_PAGE, EventLog, Runner, view_on
from projections.tables import CouncilView

AUDIT_FILTERS = ("round_key", "unit", "leaf", "actor", "type", "request_id")
READ_DEADLINE = 10.0  # seconds a read may wait for the views to reach the log (a third of gunicorn's timeout)
WAIT = 0.02  # seconds a reader sleeps while another process holds the views' writer lease
OLD_TABLES_WAIT = 30.0  # seconds a rebuild waits for the writer of the old generation before dropping its tables
# The key of the round a round is compared with: the same level, the greatest earlier year (NULL when none).
RESULTS_KEPT = 16  # results answers a process keeps (the oldest goes first)
PREVIOUS_ROUND = ("SELECT p.round_key FROM {rounds} p JOIN {rounds} c ON p.level = c.level AND p.year < c.year "
                  "WHERE c.round_key = %s ORDER BY p.year DESC LIMIT 1")


class ViewBehindError(DomainError):
    type = "view-behind"
    status = 503


class LedgerIncompleteError(DomainError):
    type = "ledger-incomplete"
    status = 409


class RebuildRunningError(DomainError):
    """Another `projections rebuild` holds the generation this one would fill."""

    type = "rebuild-running"
    status = 409


class ReadModels:
    """The views of one process. They are read and written through the Council's datastore (one pool per
    process); `env` is kept for tools that open a view of their own (`open_view`)."""

    def __init__(self, council: EventLog, env: Mapping[str, str]) -> None:
        self.council = council
        self.env = dict(env)
        self._runner: Runner | None = None
        self._frameworks: dict[str, Framework] = {}
        self._results_kept: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._derived: dict[tuple[Any, ...], Any] = {}

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = Runner(self.council, self.view())
        return self._runner

    def view(self, generation: int | None = None) -> CouncilView:
        """A view on the Council's pool: of `generation`, or of the one readers use now."""
        return view_on(self.council.recorder.datastore, generation)

    def fresh_view(self, min_position: int | None = None) -> CouncilView:
        """The view, caught up to the log as it is now: every write acknowledged before the read is in it.
        One process writes the views at a time (the lease): this one catches them up itself when the lease is
        free, and otherwise waits for the writer that holds it. A view that cannot reach the log within
        READ_DEADLINE is a 503 (view-behind, Retry-After), never a silently stale answer."""
        runner = self.runner
        head = self.council.recorder.max_notification_id() or 0
        if (min_position or 0) > head:
            raise InvalidQueryError(f"after={min_position}: the log ends at {head}; no such write yet")
        deadline = time.monotonic() + READ_DEADLINE
        position = runner.catch_up(until=head, deadline=deadline)
        while position < head:
            if time.monotonic() >= deadline:
                raise ViewBehindError(f"the views are at {position}, the log at {head}; retry shortly")
            time.sleep(WAIT)
            position = runner.catch_up(until=head, deadline=deadline)
        return runner.view

    def _read(self, min_position: int | None, *queries: tuple[str, list[Any]]) -> list[list[Any]]:
        """The queries on one fresh view; asked again once if a rebuild switched the readers and dropped the
        tables in between."""
        view = self.fresh_view(min_position)
        try:
            return [view.query(sql, params) for sql, params in queries]
        except (OperationalError, ProgrammingError):
            if view.active_generation() == view.generation:
                raise
        view = self.fresh_view(min_position)
        return [view.query(sql, params) for sql, params in queries]

    def results(self, key: str, reader: Actor | None = None, min_position: int | None = None) -> dict[str, Any]:
        """Index, components, rank and group per unit, from the final (or current) points of the view, with the
        per-field ranks, the parts by method, the change against the previous round of the same level (the
        greatest earlier year) and the round's summary.
        Units read the results once published; the Secretariat, the Council and inspectors at any time. A unit
        is compared with the previous round only when it may read that round too (published).

        Answers are kept per (round, generation, position of the views, unit or not): the views change only when
        the log moves, so a read at the same position computes nothing again (issue 13: the fold of 5,500 rows
        and the ranking cost 27 ms a read)."""
        unit_reader = reader is not None and reader.role == Role.UNIT
        view = self.fresh_view(min_position)
        stamp = (key, view.generation, view.position(), unit_reader)
        answer = self._results_kept.get(stamp)
        if answer is None:
            answer = self._results(key, unit_reader, min_position)
            if len(self._results_kept) >= RESULTS_KEPT:
                self._results_kept.pop(next(iter(self._results_kept)))
            self._results_kept[stamp] = answer
        if reader is not None and not (unit_reader and answer["phase"] == "published"):
            reader.require_role(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR)
        # a copy of the kept answer (a caller that adds a key changes nobody else's), with the stamp it is kept
        # under, so a caller may keep what it derives from it (the API keeps the JSON it serializes)
        return {**answer, "kept": stamp}

    def derived(self, stamp: Any, kind: str, make: Callable[[], Any]) -> Any:
        """What a caller derives from a kept answer (by the answer's `kept` stamp), made once: e.g. the API's JSON
        of the results. Kept beside the answers, as many, by this process's read models only."""
        place = (kind, stamp)
        found = self._derived.get(place)
        if found is None:
            found = make()
            if len(self._derived) >= RESULTS_KEPT:
                self._derived.pop(next(iter(self._derived)))
            self._derived[place] = found
        return found

    def _results(self, key: str, unit_reader: bool, min_position: int | None) -> dict[str, Any]:
        found, before, scores = self._read(
            min_position, ("SELECT * FROM {rounds} WHERE round_key = %s", [key]),
            (f"SELECT * FROM {{rounds}} WHERE round_key = ({PREVIOUS_ROUND})", [key]),
            ("SELECT round_key, unit, leaf, points, final_points FROM {scores} "
             f"WHERE round_key = %s OR round_key = ({PREVIOUS_ROUND})", [key, key]))
        if not found:
            raise NotFoundError(f"round {key} not found")
        round_row = found[0]
        points = _leaf_points(scores)
        computed, thresholds = self._computed(round_row, points.get(key, {}))
        previous_round = None
        if before and (not unit_reader or before[0]["phase"] == "published"):
            previous_round = before[0]["round_key"]
            previous, _ = self._computed(before[0], points.get(previous_round, {}))
            computed = results.compare(computed, previous, previous_round)
        return {"round": key, "phase": round_row["phase"], "previous_round": previous_round,
                "maxima": results.field_maxima(self._framework(round_row["framework"])), "units": computed,
                "averages": results.averages(computed),
                "summary": results.summary(computed, thresholds, previous_round)}

    def rescore(self, key: str, framework: Framework, reader: Actor,
                min_position: int | None = None) -> dict[str, Any]:
        """The round's recorded points carried over to `framework` (domain/rescore.py's rule), its results
        computed again and set beside its own, with every rank that would change. Reads only; nothing recorded."""
        reader.require_role(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR)
        found, scores = self._read(
            min_position, ("SELECT * FROM {rounds} WHERE round_key = %s", [key]),
            ("SELECT round_key, unit, leaf, points, final_points FROM {scores} WHERE round_key = %s", [key]))
        if not found:
            raise NotFoundError(f"round {key} not found")
        points = _leaf_points(scores).get(key, {})
        own = self._framework(found[0]["framework"])
        before, thresholds = self._computed(found[0], points)
        units = [result.unit for result in before]
        after = results.compute(framework, units, rescore.carry_over(points, own, framework), thresholds)
        rows = rescore.side_by_side(before, after)
        return {"round": key, "framework_before": own.id, "framework_after": framework.id, "rule": rescore.RULE,
                "changed_ranks": sum(1 for row in rows if row["rank_change"]), "units": rows}

    def _computed(self, round_row: Mapping[str, Any], points: Mapping[str, Mapping[str, Decimal]]
                  ) -> tuple[list[UnitResult], dict[str, Decimal]]:
        """A round's results (not compared) from its view row and its points, with its group thresholds."""
        units = [Unit.from_dict(u) for u in json.loads(round_row["units"])]
        thresholds = {k: Decimal(v) for k, v in json.loads(round_row["thresholds"]).items()}
        return results.compute(self._framework(round_row["framework"]), units, points, thresholds), thresholds

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
        (rows,) = self._read(min_position, (
            f"SELECT * FROM {{audit}} WHERE {' AND '.join(where)} ORDER BY position LIMIT {int(limit) + 1}", params))
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
        (rows,) = self._read(min_position, (
            f"SELECT * FROM {{disputes}} WHERE {' AND '.join(where)} ORDER BY unit, leaf, explanation_id", params))
        return [dict(row) for row in rows]

    def ledger_entries(self, size: int) -> list[LedgerRow]:
        """The first `size` rows of the ledger view as they stand (not caught up first): the witness `verify` holds
        against a checkpoint the log no longer matches, to name the event that was lost or moved."""
        (rows,) = self._read(None, (f"SELECT * FROM {{ledger}} ORDER BY position LIMIT {int(size)}", []))
        return [LedgerRow(*(row[name] for name in LedgerRow._fields)) for row in rows]

    def leaves(self, min_position: int | None = None) -> list[tuple[int, bytes]]:
        """(position, Merkle leaf hash) of every event of the log, in position order, from the ledger view caught
        up to the log: leaf i of the tree is the i-th of them (docs/decisions/0010-ledger.md)."""
        rows, counted = self._read(min_position, ("SELECT position, leaf FROM {ledger} ORDER BY position", []),
                                   ("SELECT count(*) AS n FROM {audit}", []))
        if len(rows) != int(counted[0]["n"]):  # a generation folded before the ledger table existed
            raise LedgerIncompleteError(f"the ledger view holds {len(rows)} leaves for {counted[0]['n']} events: "
                                        "run `council projections rebuild`")
        return [(int(row["position"]), bytes.fromhex(row["leaf"])) for row in rows]

    def status(self) -> dict[str, Any]:
        """Position and lag of the generation readers use now (read from the registry, not from this process's
        runner). Its position and its rows are written, and emptied, in the same transactions, so lag 0 means
        every event is in the tables readers see."""
        view = self.view()
        head, position = self.council.recorder.max_notification_id() or 0, view.position()
        return {"name": "council", "generation": view.generation, "position": position, "head": head,
                "lag": max(head - position, 0)}

    def rebuild(self, progress: Callable[[int], None] | None = None, switch: bool = True) -> int:
        """Fill the next generation of tables from the whole log; readers switch over only when it is done.

        The rebuild holds that generation's writer lease throughout, so a second rebuild is refused and a
        rebuild that died (killed, crashed) is noticed by the next, which empties the generation, tables and
        position together, and starts again from the first event."""
        current = self.view().generation
        generation = current + 1
        fresh = self.view(generation)
        with fresh.writer() as held:
            if not held or fresh.active_generation() != current:
                raise RebuildRunningError(f"generation {generation} is being rebuilt by another "
                                          "`council projections rebuild`; wait for it to end")
            fresh.reset(deferred=True)  # its indexes are built once the rows are in
            Runner(self.council, fresh, page=REBUILD_PAGE, follow_active=False).rebuild(progress=progress)
            fresh.create_indexes()
            if not switch:
                return generation
            if not fresh.switch_to(generation, current=current):
                raise RebuildRunningError(f"the readers left generation {current} while this rebuild ran")
        self._retire(current)
        return generation

    def _retire(self, generation: int) -> None:
        """Drop the tables readers left, once their last writer is done with them (live writers follow the
        registry to the new generation); if one holds on past OLD_TABLES_WAIT, they stay, unread and disposable."""
        old = self.view(generation)
        with old.writer(wait=OLD_TABLES_WAIT) as held:
            if held:
                old.retire()

    def close(self) -> None:
        """The views share the Council's pool: the Council closes it."""
        self._runner = None

    def _framework(self, data: str) -> Framework:
        if data not in self._frameworks:
            self._frameworks[data] = Framework.from_data(json.loads(data))
        return self._frameworks[data]


def _leaf_points(rows: list[Any]) -> dict[str, dict[str, dict[str, Decimal]]]:
    """round → unit → leaf → the points that count: final, else current, else 0.00 (scores view rows)."""
    points: dict[str, dict[str, dict[str, Decimal]]] = {}
    for row in rows:
        value = row["final_points"] if row["final_points"] is not None else row["points"]
        points.setdefault(row["round_key"], {}).setdefault(row["unit"], {})[row["leaf"]] = Decimal(
            value if value is not None else "0.00")
    return points


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
