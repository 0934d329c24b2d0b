"""`council projections run` and `council projections rebuild` SIGKILLed mid-way, then run again.

A log of --units provinces self-assessing every appraisal leaf with evidence (about 13,000 events for the 63 of
2012-2025), played through the services as tests/integration/test_audit_trail.py's big_log does, on SQLite (the
default file in a temporary data folder) or on a fresh database of the PostgreSQL server (dropped at the end).

1. `projections run` is SIGKILLed --run-kills times once its committed position passes a random point with pages
   still to go (the log grows between the runs, as writes go on while no runner runs); then run to the end and
   stopped with SIGTERM.
2. `projections rebuild` is SIGKILLed --rebuild-kills times at a random point of its work (the new generation's
   position passes a random threshold, or a random time since its progress bar showed), before it switches the
   readers (a kill that comes too late is counted apart and tried again); then run to the end.

Checked: after every kill and at every look in between, `projections status` tells the truth (the audit view
holds exactly one row per position up to the status position, and lag 0 only with every event there); the
runner stops on SIGTERM with exit 0 at the head of the log; the final rebuild exits 0 and switches the readers;
at the end of each part the views readers use equal, table by table and row by row, a fresh rebuild of the
whole log (`ReadModels.rebuild(switch=False)` into a generation of its own, dropped afterwards); `council
projections status` prints the same JSON as the read side in this process.

    .venv/bin/python bench/faults/projections_kill.py [--backend sqlite|postgres] [--units 63]
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import harness
from harness import ROOT, Backend, Report, log

POLL = 0.003  # seconds between looks at a process's committed position
TRUTH_EVERY = 0.05  # seconds between checks of status against the rows
REBUILD_PAGE = 5000  # events a rebuild folds and commits at a time (ReadModels.rebuild)


class Log:
    """The event log, grown through the services: rounds of provinces self-assessing every appraisal leaf."""

    def __init__(self, council: Any, unit_count: int) -> None:
        from council.infra import unit_lists

        self.council = council
        self.units = unit_lists.load("provinces-2012-2025")[:unit_count]
        self.years = iter(range(2024, 1900, -1))
        self.pending: list[dict[str, Any]] = []
        self.key = ""

    @property
    def head(self) -> int:
        return int(self.council.recorder.max_notification_id() or 0)

    def grow(self, events: int) -> int:
        """At least `events` more events (whole units' self-assessments); returns the new head."""
        from council.services.round_service import RoundPlan
        from tests.builders import WINDOWS, full_self_assessment

        target = self.head + events
        while self.head < target:
            if not self.pending:
                year = next(self.years)
                self.council.open_round(RoundPlan(year, "province-876-2022", self.units, WINDOWS),
                                        _secretariat())
                self.key, self.pending = f"{year}-province", list(self.units)
            full_self_assessment(self.council, self.key, self.pending.pop(0)["code"])
        return self.head


def _secretariat() -> Any:
    from tests.builders import SECRETARIAT

    return SECRETARIAT


class Truth:
    """`status` against the rows: the audit view holds one row per event, so its rows must be exactly the
    positions 1..status.position, and lag 0 must mean every event of the log is there."""

    def __init__(self, read_models: Any) -> None:
        self.read_models = read_models
        self.looks = 0
        self.lies: list[str] = []
        self.last = 0.0

    def look(self, exact: bool = False, every: float = 0.0) -> dict[str, Any]:
        """One look; `exact` when no process writes the views now (then rows beyond the position are a lie too)."""
        if every and time.monotonic() - self.last < every:
            return {}
        self.last = time.monotonic()
        for tries in range(3):  # a rebuild may switch the readers and drop the old tables between the two reads
            status = self.read_models.status()
            try:
                (row,) = self.read_models.view(status["generation"]).query(
                    "SELECT count(*) AS n, max(position) AS top FROM {audit}")
                break
            except Exception:
                if tries == 2:
                    raise
                time.sleep(0.05)
        count, top = int(row["n"]), int(row["top"] or 0)
        head = int(self.read_models.council.recorder.max_notification_id() or 0)
        self.looks += 1
        wrong = count < status["position"] or (exact and (count, top) != (status["position"], status["position"]))
        if status["lag"] == 0 and count < head:
            wrong = True
        if wrong:
            self.lies.append(f"status {json.dumps(status)}, audit rows {count} (last position {top}), log head {head}")
        return dict(status)


def cli(env: dict[str, str], *args: str, stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "council.cli.main", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate(timeout=30)


def table_rows(view: Any, name: str) -> list[tuple[Any, ...]]:
    from projections.tables import TABLES

    columns = TABLES[name]._fields  # type: ignore[attr-defined]
    rows = view.query(f"SELECT * FROM {{{name}}} ORDER BY {', '.join(columns)}")
    return [tuple(str(row[c]) if row[c] is not None else None for c in columns) for row in rows]


def compare_with_fresh_rebuild(read_models: Any) -> dict[str, Any]:
    """Each table readers use against a rebuild of the whole log into a generation of its own (dropped after)."""
    from projections.tables import NAMES

    live = read_models.view()
    fresh = read_models.view(read_models.rebuild(switch=False))
    try:
        found: dict[str, Any] = {}
        for name in NAMES:
            mine, theirs = table_rows(live, name), table_rows(fresh, name)
            if mine != theirs:
                missing, extra = set(theirs) - set(mine), set(mine) - set(theirs)
                found[name] = {"rows": len(mine), "fresh_rebuild_rows": len(theirs), "missing": len(missing),
                               "extra_or_different": len(extra), "example_missing": sorted(missing, key=str)[:2]}
        return {"generation": live.generation, "fresh_generation": fresh.generation,
                "rows": {name: len(table_rows(live, name)) for name in NAMES}, "differences": found}
    finally:
        fresh.retire()


def kill_runs(report: Report, args: Any, env: dict[str, str], events: Log, truth: Truth, rng: random.Random,
              page: int) -> None:
    """Part 1: `projections run` SIGKILLed at a random committed position with pages still to go."""
    read_models = truth.read_models
    kills: list[dict[str, Any]] = []
    while sum(bool(k.get("mid_way")) for k in kills) < args.run_kills and len(kills) < 3 * args.run_kills:
        start = truth.look(exact=True)["position"]
        if events.head - start < 3 * page:
            events.grow(3 * page - (events.head - start))
        head = events.head
        threshold = rng.randrange(start + 1, head - page)
        process = cli(env, "projections", "run", "--interval", "0.1")
        killed: dict[str, Any] = {"from": start, "head": head, "threshold": threshold}
        started = time.monotonic()
        try:
            while process.poll() is None and time.monotonic() - started < args.timeout:
                position = read_models.view().position()
                if position >= threshold:
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=30)
                    killed.update(at=position, mid_way=position < head)
                    break
                truth.look(every=TRUTH_EVERY)
                time.sleep(POLL)
        finally:
            if process.poll() is None:
                process.kill()
            _, err = finish(process)
        if "at" not in killed:
            killed["exited"] = f"{process.returncode}: {err[-500:]}"
        after = truth.look(exact=True)
        killed["status_after"] = {k: after[k] for k in ("position", "lag")}
        kills.append(killed)
        log(f"projections run killed: {killed}")
        events.grow(rng.randrange(1, page))  # writes go on while no runner runs

    head = events.head
    process = cli(env, "projections", "run", "--interval", "0.1")
    started = time.monotonic()
    caught_up = None
    try:
        while process.poll() is None and time.monotonic() - started < args.timeout:
            if truth.look()["lag"] == 0:
                caught_up = time.monotonic() - started
                break
            time.sleep(0.05)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    finally:
        out, err = finish(process)
    status = truth.look(exact=True)
    printed = _status_cli(env)
    comparison = compare_with_fresh_rebuild(read_models)
    mid_way = sum(bool(k.get("mid_way")) for k in kills)
    report.figures["run"] = {"kills": len([k for k in kills if "at" in k]), "kills_mid_way": mid_way,
                             "killed_at": [k.get("at") for k in kills], "head": head,
                             "final_run_caught_up_seconds": caught_up and round(caught_up, 2),
                             "final_run_exit": process.returncode, "status": status, "views": comparison}
    report.check(f"`projections run` SIGKILLed mid-way {args.run_kills} times", mid_way == args.run_kills,
                 [k for k in kills if not k.get("mid_way")])
    report.check("the restarted runner catches up and stops on SIGTERM with exit 0 at the head",
                 caught_up is not None and process.returncode == 0 and f"stopped at position {head}" in out,
                 f"exit {process.returncode}: {out[-300:]} {err[-1500:]}")
    report.check("after the runs: status is at the head with lag 0", (status["position"], status["lag"]) == (head, 0),
                 status)
    report.check("`council projections status` prints the read side's status", printed == status,
                 {"printed": printed, "in_process": status})
    report.check("after the runs: the views equal a fresh rebuild", not comparison["differences"],
                 comparison["differences"])


def kill_rebuilds(report: Report, args: Any, env: dict[str, str], events: Log, truth: Truth, rng: random.Random,
                  rebuild_seconds: float, scratch: Path) -> None:
    """Part 2: `projections rebuild` SIGKILLed at a random point of its work, then run to the end."""
    read_models = truth.read_models
    head = events.head
    kills: list[dict[str, Any]] = []
    while sum(k["mid_way"] for k in kills) < args.rebuild_kills and len(kills) < 3 * args.rebuild_kills:
        active = truth.look(exact=True)["generation"]
        building = read_models.view(active + 1)
        # Every other kill at a page commit with pages still to go (the dead rebuild leaves its position behind),
        # the others at a random time since the progress bar showed (often while it folds its first page).
        by_position = len(kills) % 2 == 0
        threshold = rng.randrange(1, max(head - REBUILD_PAGE, 2))
        delay = rng.uniform(0.05, 0.8) * rebuild_seconds if not by_position else float("inf")
        progress = scratch / f"rebuild-{len(kills)}.err"
        with progress.open("w") as bar:  # tqdm's bar: the rebuild has started once it shows
            process = cli(env, "projections", "rebuild", stderr=bar)
        killed: dict[str, Any] = {"generation": active + 1, "threshold": threshold} if by_position else {
            "generation": active + 1, "delay": round(delay, 2)}
        started, armed, fresh_start = time.monotonic(), None, False
        try:
            while process.poll() is None and time.monotonic() - started < args.timeout:
                position = building.position()
                fresh_start = fresh_start or position == 0  # this rebuild's own position, not a dead one's
                if armed is None and "rebuilding" in progress.read_text(errors="replace"):
                    armed = time.monotonic()
                if (by_position and fresh_start and threshold <= position < head) or (
                        armed is not None and time.monotonic() - armed >= delay):
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=30)
                    killed.update(at_position=position, after_seconds=round(time.monotonic() - started, 2))
                    break
                truth.look(every=TRUTH_EVERY)
                time.sleep(POLL)
        finally:
            if process.poll() is None:
                process.kill()
            out, _ = finish(process)
            err = progress.read_text(errors="replace")
        after = truth.look(exact=True)
        killed["mid_way"] = "at_position" in killed and after["generation"] == active
        killed["status_after"] = {k: after[k] for k in ("generation", "position", "lag")}
        if "at_position" not in killed:
            killed["exited"] = f"{process.returncode}: {out[-200:]} {err[-300:]}"
        kills.append(killed)
        log(f"projections rebuild killed: {killed}")

    process = cli(env, "projections", "rebuild")
    out, err = finish(process, timeout=args.timeout)
    status = truth.look(exact=True)
    printed = _status_cli(env)
    comparison = compare_with_fresh_rebuild(read_models)
    mid_way = sum(bool(k["mid_way"]) for k in kills)
    report.figures["rebuild"] = {"kills": len([k for k in kills if "at_position" in k]), "kills_mid_way": mid_way,
                                 "killed": [{k: v for k, v in kill.items() if k != "status_after"} for kill in kills],
                                 "head": head, "final_rebuild_exit": process.returncode, "status": status,
                                 "views": comparison}
    left_behind = sum(bool(k["mid_way"] and k.get("at_position")) for k in kills)
    report.figures["rebuild"]["kills_after_a_page_commit"] = left_behind
    report.check(f"`projections rebuild` SIGKILLed mid-way {args.rebuild_kills} times",
                 mid_way == args.rebuild_kills, [k for k in kills if not k["mid_way"]])
    report.check("a rebuild was killed after committing pages (its position left behind for the next)",
                 left_behind > 0 or args.rebuild_kills == 0, kills)
    report.check("the rebuild run again exits 0 and switches the readers",
                 process.returncode == 0 and "readers switched over" in out, f"exit {process.returncode}: "
                 f"{out[-300:]} {err[-1500:]}")
    report.check("after the rebuilds: status is at the head with lag 0",
                 (status["position"], status["lag"]) == (head, 0), status)
    report.check("`council projections status` prints the read side's status", printed == status,
                 {"printed": printed, "in_process": status})
    report.check("after the rebuilds: the views equal a fresh rebuild", not comparison["differences"],
                 comparison["differences"])


def _status_cli(env: dict[str, str]) -> Any:
    out, err = finish(cli(env, "projections", "status"))
    try:
        return json.loads(out)
    except ValueError:
        return f"not JSON: {out[-300:]} {err[-500:]}"


def run(report: Report, args: Any) -> None:
    from council import bootstrap
    from council.cli.demo_round import SimulatedClock
    from projections import runner
    from tests.builders import ICT

    rng = random.Random(args.seed)
    backend = Backend(args.backend, args.postgres_url)
    parts: Any = None

    def close_parts() -> None:
        if parts is not None:
            parts.close()

    with harness.cleanup(backend.close, close_parts):
        env = backend.env | {"COUNCIL_POOL_SIZE": "2"}
        log(f"building the log on {args.backend}: {backend.shown()}")
        parts = bootstrap.build(bootstrap.init_db(bootstrap.settings(env)),
                                clock=SimulatedClock(now=datetime(2025, 1, 2, 8, 0, tzinfo=ICT)))
        events = Log(parts.council, args.units)
        started = time.monotonic()
        events.grow(args.events)
        report.figures.update({"events": events.head, "log_seconds": round(time.monotonic() - started, 1)})
        truth = Truth(parts.read_models)
        log(f"{events.head} events in {report.figures['log_seconds']} s")

        kill_runs(report, args, env, events, truth, rng, runner.PAGE)
        started = time.monotonic()
        parts.read_models.view(parts.read_models.rebuild(switch=False)).retire()  # how long a rebuild takes
        rebuild_seconds = time.monotonic() - started
        report.figures.update(events=events.head, rebuild_in_process_seconds=round(rebuild_seconds, 2))
        kill_rebuilds(report, args, env, events, truth, rng, rebuild_seconds, backend.tmp)
        report.figures["status_looks"] = truth.looks
        report.check(f"status told the truth at every look ({truth.looks})", not truth.lies, truth.lies[:5])


def main() -> int:
    parser = harness.parser(__doc__ or "")
    parser.add_argument("--units", type=int, default=63, help="provinces per round (of the 63 of 2012-2025)")
    parser.add_argument("--events", type=int, default=10_000, help="events in the log before the first kill")
    parser.add_argument("--run-kills", type=int, default=3)
    parser.add_argument("--rebuild-kills", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds any one process may run")
    args = parser.parse_args()
    return harness.main(lambda r: run(r, args), Report("projections_kill", args.backend))


if __name__ == "__main__":
    raise SystemExit(main())
