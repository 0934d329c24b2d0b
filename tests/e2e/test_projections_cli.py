"""`council projections run` follows the log and stops cleanly on SIGTERM; `status` and `rebuild` report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from council import bootstrap
from tests.builders import full_self_assessment, open_round
from tests.conftest import Clock


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "council.cli.main", *args], env=os.environ | env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_runner_follows_the_log_and_a_sigterm_stops_it_cleanly(tmp_path):
    env = {"COUNCIL_DATA_DIR": str(tmp_path)}
    settings = bootstrap.init_db(bootstrap.settings(env))
    parts = bootstrap.build(settings, clock=Clock())
    council = parts.council
    key = open_round(council)
    full_self_assessment(council, key, "01")
    head = council.recorder.max_notification_id()
    parts.close()
    assert json.loads(cli(env, "projections", "status").stdout)["lag"] == head
    runner = subprocess.Popen([sys.executable, "-m", "council.cli.main", "projections", "run", "--interval", "0.1"],
                              env=os.environ | env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while json.loads(cli(env, "projections", "status").stdout)["lag"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert json.loads(cli(env, "projections", "status").stdout)["position"] == head
        runner.send_signal(signal.SIGTERM)
        out, err = runner.communicate(timeout=30)
    finally:
        runner.kill()
    assert runner.returncode == 0, err
    assert f"stopped at position {head}" in out
    rebuilt = cli(env, "projections", "rebuild", "audit")
    assert rebuilt.returncode == 0 and "generation 2" in rebuilt.stdout
    status = json.loads(cli(env, "projections", "status").stdout)
    assert (status["generation"], status["position"], status["lag"]) == (2, head, 0)
