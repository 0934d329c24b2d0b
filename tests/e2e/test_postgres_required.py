"""The PostgreSQL suite fails, never skips, when no server answers."""

from __future__ import annotations

import os
import subprocess
import sys


def test_an_unreachable_postgresql_fails_the_run_with_a_message_saying_what_to_do():
    env = os.environ | {"COUNCIL_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:9/postgres"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "postgres",
         "tests/integration/test_stored_events.py"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode != 0
    assert "PostgreSQL is not reachable at postgresql://postgres@127.0.0.1:9/postgres" in done.stdout
    assert "never skips" in done.stdout
    assert "skipped" not in done.stdout.splitlines()[-1]
