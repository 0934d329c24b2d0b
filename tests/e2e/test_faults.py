"""The fault scripts of bench/faults/ that take under a minute, run as a person runs them: each must exit 0 (every
check held) and print its JSON figures. The PostgreSQL ones use a database of their own on the server of
COUNCIL_TEST_POSTGRES_URL (postgres_restart: a throwaway cluster of its own, never the shared server)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.server import ROOT

FAULTS = ROOT / "bench" / "faults"
TIMEOUT = 240  # seconds: each script bounds its own load to about a minute; a slow, shared machine gets slack


def fault_script(name: str, *args: str) -> dict:
    """Run bench/faults/NAME.py; its stdout is one JSON object, its stderr the progress and each check."""
    done = subprocess.run([sys.executable, str(FAULTS / f"{name}.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    print(done.stderr[-8000:])
    print(done.stdout[-8000:])
    try:
        figures = json.loads(done.stdout)
    except ValueError:
        figures = {}
    failed = [check for check in figures.get("checks", []) if not check["ok"]]
    assert done.returncode == 0, (f"{name} {' '.join(args)} exited {done.returncode}; failed checks: {failed}\n"
                                  f"{done.stderr[-3000:]}")
    assert figures["passed"] is True and figures["checks"], figures
    return figures


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_key_races_record_each_key_once_and_answer_both_alike(backend: str) -> None:
    figures = fault_script("same_key_race", "--backend", backend, "--pairs", "100")
    assert (figures["new_self_scored_events"], figures["keys_recorded_twice"]) == (100, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_worker_kills_lose_nothing_and_record_no_retry_twice(backend: str) -> None:
    figures = fault_script("worker_kill", "--backend", backend, "--kills", "20", "--interval", "0.6")
    assert figures["kills"] >= 20 and (figures["lost"], figures["duplicates"], figures["errors_on_retry"]) == (0, 0, 0)


@pytest.mark.postgres
def test_a_postgres_restart_answers_503_then_serves_again_losing_nothing() -> None:
    figures = fault_script("postgres_restart")
    assert figures["answers_while_down"] > 0 and figures["lost"] == figures["duplicates"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_killed_projection_processes_end_with_views_equal_to_a_fresh_rebuild(backend: str) -> None:
    figures = fault_script("projections_kill", "--backend", backend)
    assert figures["run"]["views"]["differences"] == figures["rebuild"]["views"]["differences"] == {}
