"""The scheduler as it runs (issue 11): `council scheduler` processes on SQLite and on PostgreSQL started after
every deadline of a round passed act on them at start, and two of them side by side record each close and each
acceptance once; `council scheduler --list` shows what is due; `council up` (what `make run` runs) starts the
server, the projection runner and the scheduler, and one Ctrl-C stops all three."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from council import bootstrap
from council.services.round_service import RoundPlan
from domain.base import event_type
from domain.ids import dossier_id
from tests.builders import SECRETARIAT, UNITS
from tests.conftest import Clock
from tests.e2e.backends import backend_url  # noqa: F401  (the fixture)
from tests.e2e.server import ROOT, Client, free_port
from tests.integration.test_deadlines import accepted, explanation_phase

ENOUGH = 60.0  # seconds a process may take to do what is asked


def environment(url: str, tmp_path: Path, **more: str) -> dict[str, str]:
    return os.environ | {"COUNCIL_DATABASE_URL": url, "COUNCIL_DATA_DIR": str(tmp_path / "data"),
                         "COUNCIL_EVIDENCE_DIR": str(tmp_path / "evidence"), "COUNCIL_POOL_SIZE": "3",
                         "COUNCIL_SCHEDULER_POLL": "1", "PYTHONUNBUFFERED": "1", **more}


def council(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "council.cli.main", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def components(env: dict[str, str], clock=None) -> bootstrap.Components:
    config = bootstrap.settings({k: v for k, v in env.items() if k.startswith("COUNCIL_")})
    return bootstrap.build(config, clock=clock) if clock is not None else bootstrap.build(config)


def closes_and_acceptances(env: dict[str, str], key: str) -> tuple[dict[str, int], dict[str, int]]:
    parts = components(env)
    try:
        closes = {unit["code"]: [event_type(e) for e in parts.council.events.get(dossier_id(key, unit["code"]))]
                  .count("window-closed") for unit in UNITS}
        return closes, {unit["code"]: accepted(parts.council, key, unit["code"]) for unit in UNITS}
    finally:
        parts.close()


def test_two_scheduler_processes_act_on_the_missed_deadlines_once(backend_url, tmp_path):  # noqa: F811
    env = environment(backend_url, tmp_path)
    assert council(env, "db", "init").returncode == 0
    clock = Clock()
    parts = components(env, clock)
    try:
        key = explanation_phase(parts.council, clock)  # March 2025: every deadline passed long before today
        leaves = len(parts.council.framework(key).leaves("appraisal"))
    finally:
        parts.close()
    started = [subprocess.Popen([sys.executable, "-m", "council.cli.main", "scheduler"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        expected = ({unit["code"]: 2 for unit in UNITS}, {"01": leaves, "79": leaves, "48": leaves})
        deadline = time.monotonic() + ENOUGH
        while closes_and_acceptances(env, key) != expected and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # three more polls of both: nothing is recorded twice
        assert closes_and_acceptances(env, key) == expected
        status = json.loads((tmp_path / "data" / "scheduler.json").read_text())
        assert status["leader"] is True and status["last_run"] is not None
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=30)[0] for process in started]
    assert [process.returncode for process in started] == [0, 0], outputs
    assert all("scheduler stopped" in output for output in outputs)


def test_scheduler_list_shows_every_due_close_and_reminder(tmp_path):
    env = environment(f"sqlite:///{tmp_path}/council.db", tmp_path)
    assert council(env, "db", "init").returncode == 0
    now = datetime.now(UTC)
    windows = {"self_assessment": {"opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=10)},
               "explanation": {"opens_at": now + timedelta(days=20), "closes_at": now + timedelta(days=30)}}
    parts = components(env)
    try:
        parts.council.open_round(RoundPlan(2024, "province-876-2022", UNITS, windows), SECRETARIAT)
    finally:
        parts.close()
    done = council(env, "scheduler", "--list")
    assert done.returncode == 0, done.stderr
    jobs = [json.loads(line) for line in done.stdout.splitlines()]
    closes = [job for job in jobs if job["job"].startswith("close:2024-province:self_assessment:")]
    reminders = [job for job in jobs if job["job"].startswith("remind:2024-province:self_assessment:")]
    assert len(closes) == len(UNITS) and len(reminders) == 3 * len(UNITS)  # 7, 3 and 1 day ahead, per unit
    assert jobs == sorted(jobs, key=lambda job: job["at"])
    assert closes[0]["at"].startswith((now + timedelta(days=10)).strftime("%Y-%m-%dT"))
    assert {job["job"].rsplit(":", 1)[1] for job in reminders} == {"604800", "259200", "86400"}  # 7, 3, 1 days


def test_council_up_starts_server_projections_and_scheduler_and_one_ctrl_c_stops_all_three(tmp_path):
    port = free_port()
    env = environment(f"sqlite:///{tmp_path}/council.db", tmp_path, COUNCIL_BIND=f"127.0.0.1:{port}",
                      COUNCIL_WORKERS="2")
    assert council(env, "db", "init").returncode == 0
    up = subprocess.Popen([sys.executable, "-m", "council.cli.main", "up"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = up.stdout.readline() if up.stdout else ""
        pids = {name: int(pid) for name, pid in re.findall(r"(\w+) \(pid (\d+)\)", first)}
        assert set(pids) == {"server", "projections", "scheduler"}, first
        deadline, health = time.monotonic() + ENOUGH, None
        while time.monotonic() < deadline:
            try:
                answer = Client(port, None, "anonymous").get("/api/v1/health", timeout=5)
                if answer.status == 200 and answer.json["scheduler"] and answer.json["scheduler"]["leader"]:
                    health = answer.json
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert health is not None, "the server did not answer with the scheduler's status"
        assert health["scheduler"]["running"] is True
        up.send_signal(signal.SIGINT)  # what Ctrl-C sends
        out, _ = up.communicate(timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    assert up.returncode == 0, out
    assert "stopped: server, projections, scheduler" in out
    for pid in pids.values():
        assert not _alive(pid), f"pid {pid} still runs"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    waited = Path(f"/proc/{pid}/stat")
    return waited.exists() and waited.read_text().split()[2] != "Z"
