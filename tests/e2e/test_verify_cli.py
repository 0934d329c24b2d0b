"""`council verify [--round R] [--sample N] [--views]`: the verification JSON on stdout, exit 0 when the record
holds, 1 when it does not, 2 for an unusable option."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from council import bootstrap
from tests.tampering import forge_principal


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "council.cli.main", *args], env=os.environ | env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_verify_exits_0_on_a_sound_record_and_1_naming_a_forged_principal(tmp_path):
    env = {"COUNCIL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "COUNCIL_DATA_DIR": str(tmp_path / "data"),
           "COUNCIL_EVIDENCE_DIR": str(tmp_path / "evidence")}
    assert run(["db", "init"], env).returncode == 0
    assert run(["principals", "add", "thuky@moha", "--role", "secretariat"], env).returncode == 0
    done = run(["verify", "--views", "--sample", "3"], env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is True and report["views"]["first_problem"] is None
    assert report["evidence"]["first_problem"] is None

    parts = bootstrap.build(bootstrap.settings(env))
    try:
        forge_principal(parts.council, env)
    finally:
        parts.close()
    done = run(["verify"], env)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is False and report["first_broken"]["type"] == "registered"
    assert "carries no seal" in report["first_broken"]["reason"]

    usage = run(["verify", "--sample", "0"], env)
    assert usage.returncode == 2 and "--sample" in usage.stderr and "Traceback" not in usage.stderr
