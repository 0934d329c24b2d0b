"""The browser tests fail, never skip, when Debian's Chromium is missing (and never download a browser)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.browser import harness


def test_a_missing_chromium_fails_the_run_with_a_message_saying_what_to_do(tmp_path):
    missing = tmp_path / "no-chromium"
    env = os.environ | {"COUNCIL_TEST_CHROMIUM": str(missing)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/browser/test_docs_offline.py"],
        cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode != 0
    assert f"Chromium is not installed at {missing}" in done.stdout
    assert "never skip" in done.stdout
    assert "apt-get install chromium" in done.stdout
    assert "skipped" not in done.stdout.splitlines()[-1]
