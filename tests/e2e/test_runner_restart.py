"""The projection runner outlives a PostgreSQL restart: it keeps running, then applies what was written after,
each event exactly once.

The test stops and starts a throwaway cluster of its own (tests/pgcluster.py), never the shared server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import pytest

from council import bootstrap
from council.cli.demo_round import ICT, SECRETARIAT, SimulatedClock, officer
from council.infra import unit_lists as units
from council.services import Council
from council.services.round_service import RoundPlan
from domain.values import ScoreAddress
from projections.runner import OUTAGES
from tests.pgcluster import ThrowawayCluster

T = TypeVar("T")
OUTAGE_SECONDS = 3.0  # how long the database stays down while the runner must stay alive
RETRY_BOUND = 30.0  # seconds a write may be retried after the restart before the database must accept it
CATCH_UP_BOUND = 30.0  # seconds after the new writes before the view must show them
LEAVES = ("1.1.1", "1.1.2", "1.2.1")




def retried(call: Callable[[], T], bound: float = RETRY_BOUND) -> T:
    """The call, repeated while the database is still coming back (at most `bound` seconds)."""
    started = time.monotonic()
    while True:
        try:
            return call()
        except OUTAGES:
            if time.monotonic() - started > bound:
                raise
            time.sleep(0.5)


def wait_for(condition: Callable[[], bool], bound: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < bound, f"{what} not within {bound:.0f} s"
        time.sleep(0.1)
    return time.monotonic() - started


def log_size(council: Council) -> int:
    return len(council.recorder.select_notifications(start=1, limit=1_000_000))


def self_score(council: Council, unit: str, leaf: str, points: str) -> Any:
    return council.self_score(ScoreAddress("2024-province", unit, leaf), points, officer(unit), note="bổ sung")


@pytest.mark.postgres
def test_runner_survives_a_database_restart(cluster: ThrowawayCluster, tmp_path) -> None:
    settings = bootstrap.init_db(bootstrap.settings(cluster.council_env(str(tmp_path / "evidence"))))
    clock = SimulatedClock()
    parts = bootstrap.build(settings, clock=clock)
    council = parts.council
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        provinces = units.load("provinces-2012-2025")[:2]
        windows = {"self_assessment": {"opens_at": datetime(2025, 1, 1, tzinfo=ICT),
                                       "closes_at": datetime(2026, 1, 1, tzinfo=ICT)},
                   "explanation": {"opens_at": datetime(2026, 1, 2, tzinfo=ICT),
                                   "closes_at": datetime(2026, 2, 1, tzinfo=ICT)}}
        council.open_round(RoundPlan(2024, "province-876-2022", provinces, windows), SECRETARIAT)
        for unit in provinces:
            council.self_assess("2024-province", unit["code"],
                                [{"leaf": leaf, "points": "0.25"} for leaf in LEAVES], officer(unit["code"]))

        runner = parts.read_models.runner
        view = runner.view
        thread = threading.Thread(target=runner.run, args=(stop,), kwargs={"interval": 0.2}, daemon=True,
                                  name="projection-runner")
        thread.start()
        head = council.recorder.max_notification_id()
        wait_for(lambda: view.position() == head, CATCH_UP_BOUND, f"the runner reaching the head {head}")

        cluster.stop()
        time.sleep(OUTAGE_SECONDS)
        assert thread.is_alive(), "the runner died when the database went away"
        cluster.start()
        restarted = time.monotonic()

        written = retried(lambda: self_score(council, "01", "1.1.1", "0.50"))
        retried(lambda: self_score(council, "02", "1.2.1", "0.75"))
        print(f"restart: writes accepted {time.monotonic() - restarted:.2f} s after the restart")
        assert thread.is_alive(), "the runner died while the database came back"

        head = retried(council.recorder.max_notification_id)
        assert head is not None and head >= written.notification_id
        took = wait_for(lambda: retried(view.position) == head, CATCH_UP_BOUND,
                        f"the runner reaching the new head {head}")
        print(f"restart: the view reached the new head {took:.2f} s after the writes")

        scores = {(row["unit"], row["leaf"]): row for row in view.query(
            "SELECT unit, leaf, self_points, version FROM {scores} WHERE round_key = %s", ["2024-province"])}
        assert str(scores[("01", "1.1.1")]["self_points"]) == "0.50"
        assert str(scores[("02", "1.2.1")]["self_points"]) == "0.75"
        assert str(scores[("01", "1.1.2")]["self_points"]) == "0.25"
        (audit,) = view.query("SELECT count(*) AS n, count(DISTINCT position) AS distinct_n FROM {audit}")
        assert audit["n"] == audit["distinct_n"] == log_size(council), "an event was lost or applied twice"
        assert thread.is_alive()
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=60)
            assert not thread.is_alive(), "the runner did not stop when asked"
        parts.close()
