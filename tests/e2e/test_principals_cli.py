"""`council principals`: an administrator on the server issues a token once, lists and revokes principals."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys


def run(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = os.environ | {"COUNCIL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    return subprocess.run([sys.executable, "-m", "council.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_principals_add_prints_the_token_once_and_list_and_revoke_show_the_principal(tmp_path):
    assert run(["db", "init"], tmp_path).returncode == 0
    added = run(["principals", "add", "member@moj", "--role", "council", "--fields", "2,3", "--ministry", "MOJ"],
                tmp_path)
    assert added.returncode == 0, added.stderr
    token = next(line.removeprefix("token: ") for line in added.stdout.splitlines() if line.startswith("token: "))
    assert len(token) >= 40
    assert "shown only this time" in added.stdout
    assert "fields 2,3 (home ministry MOJ)" in added.stdout

    again = run(["principals", "add", "member@moj", "--role", "council", "--fields", "2", "--ministry", "MOJ"],
                tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr

    revoked = run(["principals", "revoke", "member@moj", "--reason", "left the council"], tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    listed = run(["principals", "list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "member@moj" in listed.stdout and "revoked (left the council)" in listed.stdout
    assert token not in listed.stdout + revoked.stdout
    stored = (tmp_path / "x.db").read_bytes()
    assert token.encode() not in stored and hashlib.sha256(token.encode()).hexdigest().encode() in stored
