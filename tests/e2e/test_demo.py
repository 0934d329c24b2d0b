"""The README's main command: `council demo` plays a whole round and prints results and one history."""

from __future__ import annotations

import os
import subprocess
import sys


def run(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = os.environ | {"COUNCIL_DATA_DIR": str(tmp_path), "COUNCIL_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
                        "COUNCIL_EVIDENCE_DIR": f"{tmp_path}/evidence"}
    if args[0] == "demo":
        args = [*args, "--tokens", f"{tmp_path}/tokens.env"]
    return subprocess.run([sys.executable, "-m", "council.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def test_council_demo_prints_the_ranked_results_and_a_disputed_scores_history(tmp_path):
    done = run(["demo", "--top", "5"], tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "PAR INDEX 2024-province (published): top 5"
    ranks = [line.split()[0] for line in lines[2:7]]
    assert ranks[0] == "1" and len(ranks) == 5
    assert any(line.startswith("averages: national") for line in lines)
    assert "chain verified: yes" in done.stdout
    for fact in ("council-adjusted", "explanation-filed", "reason: ", "council     hdtd."):
        assert fact in done.stdout
    tokens = (tmp_path / "tokens.env").read_text().splitlines()
    assert len(tokens) == 8 and tokens[0].startswith("export SECRETARIAT_TOKEN=")


def test_db_init_is_idempotent_and_a_second_demo_shows_the_round_already_played(tmp_path):
    assert run(["db", "init"], tmp_path).returncode == 0
    assert run(["db", "init"], tmp_path).returncode == 0
    first = run(["demo", "--top", "3"], tmp_path)
    again = run(["demo", "--top", "3"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "is already in" in again.stdout
    assert again.stdout.splitlines()[1:6] == first.stdout.splitlines()[0:5]
