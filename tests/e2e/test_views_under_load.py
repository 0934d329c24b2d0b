"""Issue 9, done-when 2: four gunicorn workers and `council projections run` under write load, on SQLite and on
PostgreSQL. Every worker catches the views up before a read and the runner follows the log, so five processes
want to write the views at once: with one writer at a time (the lease) and fold caches checked against the view,
no read answers 5xx, the runner is still running at the end, and the views then equal a fresh rebuild.

Before the fix: 35-60 % of /audit and /results reads answered 500 (OriginatorVersionError from a stale fold
cache) and `projections run` died. On PostgreSQL the test also counts the sessions the processes open: at most
COUNCIL_POOL_SIZE each (the views share the Council's pool).
"""

from __future__ import annotations

import collections
import itertools
import json
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from council import bootstrap
from council.services.appraisal_service import ExplanationReport
from council.services.round_service import RoundPlan
from domain.values import ScoreAddress
from tests.builders import MOJ_MEMBER, SECRETARIAT, UNITS, full_self_assessment, officer, open_round
from tests.conftest import Clock
from tests.e2e.backends import backend_url, connections, differences_from_a_clean_rebuild  # noqa: F401
from tests.e2e.server import ROOT, Server

WORKERS = 4
POOL_SIZE = 4  # tests/e2e/server.py's COUNCIL_POOL_SIZE
READS = 2_000  # at least this many reads of results, audit and disputes
READERS = 6  # reader threads
PACE = 0.05  # seconds each writer rests between writes: steady load, and CPU left for the reads on a 2-core box
LIVE = "2026-province"  # written during the test: its self-assessment window is open on the real clock
PLAYED = "2024-province"  # played through the services before the server starts: scores, an open dispute
# Leaves on the 0.01 grid of the province tree, and their maxima: self-scores are drawn below these.
LEAVES = {"1.1.1": Decimal("0.50"), "1.2.1": Decimal("0.75"), "1.2.2": Decimal("1.00"), "1.3.1": Decimal("0.50"),
          "2.1.1": Decimal("0.75"), "2.1.3": Decimal("0.75"), "2.2.1": Decimal("0.75"), "2.4.1": Decimal("1.00")}
PEOPLE = {f"officer@{u['code']}": ["--role", "unit", "--unit", u["code"]] for u in UNITS} | {
    "inspector@gov": ["--role", "inspector"]}
READ_PATHS = [
    f"/api/v1/rounds/{LIVE}/results", f"/api/v1/rounds/{PLAYED}/results",
    f"/api/v1/audit?round={LIVE}&limit=50", "/api/v1/audit?unit=01&type=self-scored&limit=20",
    f"/api/v1/audit?round={PLAYED}&leaf=2.1.1", f"/api/v1/rounds/{PLAYED}/disputes",
    f"/api/v1/rounds/{LIVE}/disputes?unit=79",
]


def seed(database_url: str, data: Path) -> None:
    """The played round (with a dispute) and the live round, through the services, before gunicorn starts."""
    config = bootstrap.init_db(bootstrap.settings({"COUNCIL_DATABASE_URL": database_url,
                                                   "COUNCIL_DATA_DIR": str(data), "COUNCIL_POOL_SIZE": "2"}))
    clock = Clock()
    parts = bootstrap.build(config, clock=clock)
    try:
        council = parts.council
        open_round(council)
        for unit in ("01", "79"):
            full_self_assessment(council, PLAYED, unit)
        clock.set(2025, 2, 10, 9)
        council.advance_phase(PLAYED, "appraisal", SECRETARIAT)
        for unit in ("01", "79"):
            council.propose_many(PLAYED, unit, [
                {"leaf": s["leaf"], "points": s["self_points"], "expected_version": s["version"]}
                for s in council.unit_scores(PLAYED, unit)], SECRETARIAT)
        at = ScoreAddress(PLAYED, "01", "2.1.1")
        council.adjust(at, "0.25", "Văn bản ban hành chậm", council.score(at)["version"], MOJ_MEMBER)
        clock.set(2025, 3, 12, 9)
        council.advance_phase(PLAYED, "explanation", SECRETARIAT)
        council.file_explanation(at, ExplanationReport("Ban hành đúng hạn theo quyết định số 12", "0.50"),
                                 officer("01"))
        now = datetime.now(UTC)
        windows = {"self_assessment": {"opens_at": now - timedelta(hours=1), "closes_at": now + timedelta(hours=2)},
                   "explanation": {"opens_at": now + timedelta(hours=3), "closes_at": now + timedelta(hours=4)}}
        council.open_round(RoundPlan(2026, "province-876-2022", UNITS, windows), SECRETARIAT)
    finally:
        parts.close()


class Load:
    """Writer threads self-scoring the live round (one per unit), reader threads reading the views, until
    READS reads are done; every answer's status is counted."""

    def __init__(self, server: Server, tokens: dict[str, str]) -> None:
        self.server, self.tokens = server, tokens
        self.reads: collections.Counter[int] = collections.Counter()
        self.writes: collections.Counter[int] = collections.Counter()
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.done = threading.Event()

    def write(self, unit: str) -> None:
        client = self.server.client(self.tokens[f"officer@{unit}"])
        chance = random.Random(unit)
        for number in itertools.count():
            if self.done.wait(PACE):
                return
            leaf = chance.choice(list(LEAVES))
            points = Decimal(chance.randrange(0, int(LEAVES[leaf] * 100) + 1)) / 100
            answer = client.put(f"/api/v1/rounds/{LIVE}/units/{unit}/scores/{leaf}/self-assessment",
                                {"points": f"{points:.2f}", "note": f"lần sửa {number}"})
            self.count(self.writes, answer, "PUT self-assessment")

    def read(self, seed: int) -> None:
        client = self.server.client(self.tokens["inspector@gov"])
        chance = random.Random(seed)
        while not self.done.is_set():
            path = chance.choice(READ_PATHS)
            answer = client.get(path)
            self.count(self.reads, answer, f"GET {path}")
            with self.lock:
                if sum(self.reads.values()) >= READS:
                    self.done.set()

    def count(self, counter: collections.Counter[int], answer: object, what: str) -> None:
        status = getattr(answer, "status", 0)
        with self.lock:
            counter[status] += 1
            if status >= 500 and len(self.failures) < 10:
                self.failures.append(f"{what}: {answer}")

    def run(self, timeout: float) -> float:
        threads = [threading.Thread(target=self.write, args=(u["code"],), daemon=True) for u in UNITS]
        threads += [threading.Thread(target=self.read, args=(n,), daemon=True) for n in range(READERS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        self.done.wait(timeout)
        self.done.set()
        for thread in threads:
            thread.join(timeout=60)
        return time.monotonic() - started


def test_four_workers_and_the_runner_under_write_load_answer_no_5xx_and_end_equal_to_a_rebuild(
        backend_url: str, tmp_path: Path) -> None:  # noqa: F811
    seed(backend_url, tmp_path / "data")
    server = Server(backend_url, tmp_path, workers=WORKERS)
    runner_log = (tmp_path / "runner.log").open("wb")
    runner: subprocess.Popen[bytes] | None = None
    sessions: list[int] = []
    watching = threading.Event()
    try:
        tokens = server.start(PEOPLE)
        runner = subprocess.Popen(
            [sys.executable, "-m", "council.cli.main", "projections", "run", "--interval", "0.05"],
            cwd=ROOT, env=server.env, stdout=runner_log, stderr=subprocess.STDOUT)
        postgres = backend_url.startswith("postgresql")

        def watch() -> None:  # the sessions the workers and the runner hold, while they work
            while not watching.wait(0.2):
                sessions.append(connections(backend_url))

        if postgres:
            threading.Thread(target=watch, daemon=True).start()
        load = Load(server, tokens)
        took = load.run(timeout=240)
        watching.set()
        alive = runner.poll() is None
        figures = {"backend": "postgresql" if postgres else "sqlite", "seconds": round(took, 1),
                   "reads": sum(load.reads.values()), "reads_by_status": dict(load.reads),
                   "writes": sum(load.writes.values()), "writes_by_status": dict(load.writes),
                   "runner_alive": alive, "most_sessions": max(sessions, default=None)}
        print(json.dumps(figures))
        assert figures["reads"] >= READS, figures
        assert not [s for s in load.reads if s >= 500], (figures, load.failures, server.log()[-3000:])
        assert load.writes[200] > 0, (figures, load.failures)
        assert alive, f"`projections run` died:\n{(tmp_path / 'runner.log').read_text()}"
        if postgres:  # each of WORKERS + 1 processes: its one pool, nothing beside it
            assert max(sessions) <= (WORKERS + 1) * POOL_SIZE, figures

        config = bootstrap.settings(server.env | {"COUNCIL_POOL_SIZE": "2"})
        parts = bootstrap.build(config)
        try:
            head = parts.council.recorder.max_notification_id()
            deadline = time.monotonic() + 30
            while parts.read_models.status()["position"] < head:  # the runner, not this process, catches up
                assert time.monotonic() < deadline, f"the runner did not reach {head}: {parts.read_models.status()}"
                time.sleep(0.1)
            assert differences_from_a_clean_rebuild(parts.read_models) == {}
            assert parts.read_models.status()["lag"] == 0
        finally:
            parts.close()
    finally:
        watching.set()
        if runner is not None and runner.poll() is None:
            runner.terminate()
            runner.wait(timeout=30)
        runner_log.close()
        server.stop()
