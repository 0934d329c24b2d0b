"""Time a full rebuild of every view for a national round of 100,000+ events on PostgreSQL; print JSON.

The round is played through the services on a fresh schema `bench_<random>` (dropped at the end): the 63
provinces of 2012-2025 self-assess every appraisal leaf with evidence in one batch per unit, revise their
forms until the log passes the target, submit; the Secretariat proposes, the explanation window passes in
silence, survey points are recorded and the round is finalized. Then `ReadModels.rebuild(switch=True)` is timed
`--repeat` times (the median is the figure), beside pgbench's single-row INSERT rate on the same server
(the physical reference).

    python bench/rebuild.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--events 100000]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from eventsourcing.projection import ProjectionRunner
from psycopg import sql

from council import bootstrap
from council.bootstrap import Components
from council.cli.demo_round import ICT, SECRETARIAT, YEAR, SimulatedClock, grid_points, officer
from council.infra import unit_lists
from council.infra.blobs import BlobStore
from council.infra.settings import Settings
from council.services import Council
from council.services.evidence_service import Upload
from council.services.round_service import RoundPlan
from projections.runner import CouncilProjection, open_view
from projections.tables import CouncilView, PostgresCouncilView

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
GOAL = 75_000  # issue 13's goal
DOCUMENTS_PER_LEAF = 3


def with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"] + [("schema", schema)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def without_schema(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "schema"])))


def documents(council: Council, unit: str, field: str, count: int) -> list[dict[str, Any]]:
    """`count` small files stored as the unit's evidence for one field (each backs every leaf of the field)."""
    found = []
    for number in range(1, count + 1):
        content = f"%PDF-1.4\n% Báo cáo {number}, tỉnh {unit}, lĩnh vực {field}\n".encode()
        stored = council.store_evidence(Upload(io.BytesIO(content), "application/pdf"), officer(unit))
        found.append({**stored, "name": f"BC-{field}-{number}-{unit}.pdf", "number": f"{field}{number}/BC-UBND",
                      "issued_on": f"{YEAR}-{1 + number % 12:02d}-{1 + number % 27:02d}",
                      "issuer": f"UBND tỉnh {unit}"})
    return found


class Round:
    """The national round, played as fast as the services allow: one save per unit per step."""

    def __init__(self, council: Council, clock: SimulatedClock, target: int) -> None:
        self.council, self.clock, self.target = council, clock, target
        self.units = unit_lists.load("provinces-2012-2025")
        self.key = ""

    def play(self) -> None:
        self.key = self.open()
        framework = self.council.framework(self.key)
        appraisal = framework.leaves("appraisal")
        # Per appraisal leaf: opened, self-scored, evidence, each revision, proposed, silence accepted, final;
        # per survey leaf: opened, surveyed, final. Revisions of the form make up the rest of the target.
        fixed = len(appraisal) * (5 + DOCUMENTS_PER_LEAF) + len(framework.leaves("survey")) * 3
        revisions = max(0, math.ceil((self.target / len(self.units) - fixed) / len(appraisal)))
        for unit in self.units:
            self.self_assess(unit["code"], appraisal, revisions)
        self.stage("appraisal", datetime(2025, 2, 10, 8, 0, tzinfo=ICT))
        for unit in self.units:
            self.appraise(unit["code"])
        self.stage("explanation", datetime(2025, 3, 10, 8, 0, tzinfo=ICT))
        self.stage("council_review", datetime(2025, 3, 21, 8, 0, tzinfo=ICT))
        survey = framework.leaves("survey")
        for unit in self.units:
            rng = random.Random(f"bench/survey/{unit['code']}")
            self.council.record_survey(self.key, unit["code"], {leaf.code: grid_points(rng, leaf, 0.6)
                                                                for leaf in survey},
                                       SECRETARIAT, source=f"Điều tra xã hội học {YEAR}")
        self.stage("finalized", datetime(2025, 4, 2, 8, 0, tzinfo=ICT))

    def open(self) -> str:
        windows = {
            "self_assessment": {"opens_at": datetime(2025, 1, 1, tzinfo=ICT),
                                "closes_at": datetime(2025, 2, 1, tzinfo=ICT)},
            "explanation": {"opens_at": datetime(2025, 3, 10, tzinfo=ICT),
                            "closes_at": datetime(2025, 3, 20, tzinfo=ICT)},
        }
        self.council.open_round(RoundPlan(year=YEAR, framework_id="province-876-2022", units=self.units,
                                          windows=windows), SECRETARIAT)
        return f"{YEAR}-province"

    def stage(self, phase: str, at: datetime) -> None:
        self.clock.jump(at)
        self.council.advance_phase(self.key, phase, SECRETARIAT, reason=f"kế hoạch thẩm định {YEAR}: {phase}")

    def self_assess(self, unit: str, leaves: list[Any], revisions: int) -> None:
        rng = random.Random(f"bench/{unit}")
        backing: dict[str, list[dict[str, Any]]] = {}
        entries = []
        for leaf in leaves:
            if leaf.field not in backing:
                backing[leaf.field] = documents(self.council, unit, leaf.field, DOCUMENTS_PER_LEAF)
            entries.append({"leaf": leaf.code, "points": grid_points(rng, leaf, 0.5), "evidence": backing[leaf.field]})
        self.council.self_assess(self.key, unit, entries, officer(unit))
        for revision in range(revisions):  # the unit revises its form before the deadline
            self.council.self_assess(self.key, unit, [
                {"leaf": leaf.code, "points": grid_points(rng, leaf, 0.5), "note": f"rà soát lần {revision + 1}"}
                for leaf in leaves], officer(unit))
        report = documents(self.council, unit, "báo cáo", 1)[0]
        self.council.submit(self.key, unit, approved_by=f"Chủ tịch UBND tỉnh ({unit})", report=report,
                            actor=officer(unit))

    def appraise(self, unit: str) -> None:
        rng = random.Random(f"bench/appraise/{unit}")
        proposals = []
        for state in self.council.unit_scores(self.key, unit):
            if state["method"] != "appraisal":
                continue
            points, comment = state["self_points"], ""
            step = self.council.framework(self.key).leaf(state["leaf"]).step
            if rng.random() < 0.15 and points >= step:
                points, comment = points - step, "Tài liệu kiểm chứng chưa chứng minh đủ mức độ hoàn thành."
            proposals.append({"leaf": state["leaf"], "points": points, "comment": comment,
                              "expected_version": state["version"]})
        self.council.propose_many(self.key, unit, proposals, SECRETARIAT)


def pgbench_tps(url: str, clients: int = 1, lock: bool = False) -> dict[str, Any]:
    """pgbench's single-row INSERT rate (`clients` clients, 5 s) into a scratch table on the same server; with
    `lock`, each INSERT in a transaction that first takes the table lock the library's recorder takes."""
    program = shutil.which("pgbench")
    if program is None:
        return {"available": False, "reason": "pgbench is not on PATH"}
    parts = urlsplit(url)
    table = f"bench_pgbench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(without_schema(url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id BIGSERIAL PRIMARY KEY, payload TEXT)").format(sql.Identifier(table)))
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
            insert = f"INSERT INTO {table} (payload) VALUES ('x');\n"
            script.write(f"BEGIN;\nLOCK TABLE {table} IN EXCLUSIVE MODE;\n{insert}COMMIT;\n" if lock else insert)
        env = os.environ | {"PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432),
                            "PGUSER": parts.username or "postgres", "PGDATABASE": parts.path.strip("/")}
        if parts.password:
            env["PGPASSWORD"] = parts.password
        out = subprocess.run([program, "-n", "-f", script.name, "-T", "5", "-c", str(clients), "-j",
                              str(min(clients, 2))], env=env, capture_output=True, text=True, timeout=60, check=False)
        os.unlink(script.name)
        found = re.search(r"tps = ([\d.]+)", out.stdout)
        if out.returncode != 0 or not found:
            return {"available": False, "reason": (out.stderr or out.stdout).strip()[-300:]}
        return {"available": True, "single_row_inserts_per_second": round(float(found.group(1))),
                "command": f"pgbench -n -f <{'LOCK TABLE + ' if lock else ''}one INSERT> -T 5 -c {clients} "
                           f"-j {min(clients, 2)}"}
    finally:
        with psycopg.connect(without_schema(url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


def library_runner_rate(parts: Components, sample: int) -> dict[str, Any]:
    """The library's own `ProjectionRunner` (LISTEN/NOTIFY, one transaction per event) driving the same projection
    over the first `sample` events into scratch tables: the reference the batched rebuild is measured against."""
    council = parts.council
    generation = 900_000 + random.randrange(99_999)
    scratch = open_view(parts.read_models.env, generation=generation)
    scratch.create_view_tables()
    view_class = type("ScratchView", (PostgresCouncilView,), {"generation": generation})

    class OneEventPerTransaction(CouncilProjection):
        name = "council"  # the runner's tracking table is `council_tracking`, created here and dropped afterwards

        def __init__(self, view: CouncilView) -> None:
            super().__init__(view, lambda stream, version: council.repository.get(stream, version=version))

    class Subscribed(Council):
        """The runner constructs its application from the environment alone; the blob store comes from here."""

        name = "council"  # the same log and tracking name as the Council (a subclass would be named after itself)

        def __init__(self, env: Mapping[str, str]) -> None:
            super().__init__(env, blobs=parts.blobs)

    try:
        runner = ProjectionRunner(application_class=Subscribed, projection_class=OneEventPerTransaction,
                                  view_class=view_class, env=parts.settings.persistence_env(create_table=True))
        try:
            position, first, ended = _time_until(runner.view, sample)  # type: ignore[arg-type]
        finally:
            runner.stop()
            runner.app.close()
            view: CouncilView = runner.view  # type: ignore[assignment]
            with view.datastore.transaction(commit=True) as curs:
                curs.execute(f"DROP TABLE {view.qualified(view.tracking_table_name)}")  # type: ignore[attr-defined]
            view.close()
    finally:
        scratch.drop_view_tables()
        scratch.close()
    if first is None or position <= first[0]:
        return {"available": False, "reason": f"the runner reached position {position} in 120 s"}
    return {"available": True, "events": position - first[0],
            "events_per_second": round((position - first[0]) / (ended - first[1])),
            "what": "eventsourcing's ProjectionRunner, the same projection, one transaction per event"}


def _time_until(view: CouncilView, sample: int) -> tuple[int, tuple[int, float] | None, float]:
    """Poll the view's position until it passes `sample` (at most 120 s): (position, first move, end time)."""
    first = None
    deadline = time.monotonic() + 120
    while (position := view.position()) < sample and time.monotonic() < deadline:
        if first is None and position > 0:
            first = (position, time.perf_counter())
        time.sleep(0.01)
    return position, first, time.perf_counter()


def writer(config: Settings, clock: SimulatedClock) -> Council:
    """`bootstrap.build`'s Council, tuned for the benchmark's single writer: the aggregate cache holds the whole round
    and is trusted without a fast-forward query per load (no other process writes this schema), no ping per checkout."""
    tuned = config.persistence_env(create_table=False) | {
        "AGGREGATE_CACHE_MAXSIZE": "20000", "AGGREGATE_CACHE_FASTFORWARD": "n", "POSTGRES_PRE_PING": "n"}
    blobs = BlobStore(config.evidence_dir, config.evidence_max_bytes, config.evidence_types)
    return Council(tuned, blobs=blobs, clock=clock, keyring=bootstrap.open_keyring(config))  # sealed as served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("COUNCIL_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--events", type=int, default=100_000, help="at least this many events in the log")
    parser.add_argument("--repeat", type=int, default=3, help="rebuild this many times; the median is the figure")
    parser.add_argument("--library-sample", type=int, default=10_000,
                        help="events the library's one-event-per-transaction runner is timed over (the reference)")
    parser.add_argument("--profile", metavar="FILE",
                        help="write a cProfile of the rebuilds to FILE; it roughly halves the rate")
    parser.add_argument("--schema", help="rebuild the log already in this schema (of a --keep run) instead")
    parser.add_argument("--keep", action="store_true", help="keep the schema (for --schema runs)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("the rebuild benchmark runs on PostgreSQL: --database-url postgresql://...")
    base = without_schema(args.database_url)
    schema = args.schema or f"bench_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp:
        config = bootstrap.settings({"COUNCIL_DATABASE_URL": with_schema(base, schema), "COUNCIL_DATA_DIR": tmp,
                                     "COUNCIL_EVIDENCE_DIR": f"{tmp}/evidence", "COUNCIL_POOL_SIZE": "2"})
        council: Council | None = None
        parts: Components | None = None
        try:
            clock = SimulatedClock()
            build_seconds = None
            if not args.schema:
                bootstrap.init_db(config)
                council = writer(config, clock)
                started = time.perf_counter()
                Round(council, clock, args.events).play()
                build_seconds = time.perf_counter() - started
                council.close()
                council = None
            parts = bootstrap.build(config, clock=clock)  # a fresh process's state: no aggregate cache
            read_models = parts.read_models
            events = parts.council.recorder.max_notification_id() or 0
            timings = []
            profiler = cProfile.Profile() if args.profile else None
            for _ in range(args.repeat):
                started = time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                generation = read_models.rebuild(switch=True)
                timings.append(time.perf_counter() - started)
                if profiler is not None:
                    profiler.disable()
                status = read_models.status()
                assert status["generation"] == generation and status["lag"] == 0, status
                # the generation readers use now (the runner's view is of the generation before the rebuild)
                (audit,) = read_models.view().query("SELECT count(*) AS n FROM {audit}")
                assert audit["n"] == events, (audit["n"], events)
            if profiler is not None:
                profiler.dump_stats(args.profile)
            library = library_runner_rate(parts, min(args.library_sample, events))
        finally:
            if council is not None:
                council.close()
            if parts is not None:
                parts.close()
            if not args.keep:
                drop_schema(base, schema)
    seconds = statistics.median(timings)
    print(json.dumps({
        "benchmark": "full rebuild of every view (63 provinces, PostgreSQL)",
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds),
        "rebuilds": [{"seconds": round(taken, 3), "events_per_second": round(events / taken)} for taken in timings],
        "profiled": bool(args.profile),
        "goal_events_per_second": GOAL,
        "meets_goal": events / seconds >= GOAL,
        "library_runner": library,
        "times_the_library_runner": round(events / seconds / library["events_per_second"], 1)
                                    if library["available"] else None,
        "log": None if build_seconds is None else {
            "seconds": round(build_seconds, 2), "events_per_second": round(events / build_seconds),
            "through": "the services (self_assess, submit, propose_many, record_survey, advance_phase)"},
        "schema": schema if args.keep else None,
        "pgbench": pgbench_tps(base),
    }))


if __name__ == "__main__":
    main()
