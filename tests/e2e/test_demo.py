"""The README's main command: `council demo` plays the 2023 and 2024 provincial rounds and prints the 2024 results,
with the rank changes against 2023, and one disputed score's history; each round's mean, top, bottom and group
counts are the published ones (issue 12: mean within 0.3, group counts within 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

from council import bootstrap
from domain.values import Actor, Role

# As announced (../shared/data/parindex-published.md): mean, top (province, index), bottom province, A / B counts.
PUBLISHED = {
    "2023-province": (Decimal("86.98"), ("Quảng Ninh", Decimal("92.18")), "An Giang", 7, 56),
    "2024-province": (Decimal("88.37"), ("Hải Phòng", Decimal("96.17")), "Cao Bằng", 13, 50),
}


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
    assert "against 2023-province: rose" in done.stdout

    parts = bootstrap.build(bootstrap.settings({"COUNCIL_DATA_DIR": str(tmp_path),
                                                "COUNCIL_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}))
    try:
        inspector = Actor(id="thanhtra@moha", role=Role.INSPECTOR)
        for key, (mean, (top_name, top), bottom_name, group_a, group_b) in PUBLISHED.items():
            results = parts.read_models.results(key, inspector)
            summary, units = results["summary"], results["units"]
            assert results["phase"] == "published" and len(units) == 63
            assert abs(summary.mean - mean) <= Decimal("0.3"), (key, summary.mean)
            assert (units[0].unit.name, units[0].index) == (top_name, top)
            assert units[-1].unit.name == bottom_name and units[-1].index >= Decimal("80.00")
            assert abs(summary.groups["A"] - group_a) <= 2 and abs(summary.groups["B"] - group_b) <= 2, summary.groups
        adjusted = sum(1 for row in parts.read_models.audit({"round_key": "2024-province", "type": "council-adjusted"},
                                                            inspector, limit=10_000)["items"])
        appraised = 63 * len(parts.council.framework("2024-province").leaves("appraisal"))
        assert appraised / 10 < adjusted < appraised / 5  # about one appraised leaf in seven
    finally:
        parts.close()


def test_db_init_is_idempotent_and_a_second_demo_shows_the_round_already_played(tmp_path):
    assert run(["db", "init"], tmp_path).returncode == 0
    assert run(["db", "init"], tmp_path).returncode == 0
    first = run(["demo", "--top", "3"], tmp_path)
    again = run(["demo", "--top", "3"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "is already in" in again.stdout
    assert again.stdout.splitlines()[1:6] == first.stdout.splitlines()[0:5]
