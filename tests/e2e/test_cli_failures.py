"""Every `council` failure ends in one line saying what went wrong and what to do, with its documented exit
code (README: 1 refused or not found, 2 usage, 3 database unreachable or without tables, 4 configuration);
a traceback only with --debug."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

REFUSED, USAGE, DATABASE, CONFIG = 1, 2, 3, 4


def council(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = os.environ | {"COUNCIL_DATA_DIR": str(tmp_path)} | env
    return subprocess.run([sys.executable, "-m", "council.cli.main", *args], env=environment, capture_output=True,
                          text=True, timeout=120, check=False, cwd=tmp_path)


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("council: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unknown_command_or_option_is_a_usage_error(tmp_path):
    for args in (["frobnicate"], ["principals", "add", "x", "--role", "emperor"], ["demo", "--top", "many"]):
        done = council(tmp_path, *args)
        assert done.returncode == USAGE, args
        assert "--help`" in one_line(done)


def test_a_unit_list_that_is_not_shipped_is_a_usage_error_naming_the_shipped_ones(tmp_path):
    done = council(tmp_path, "demo", "--units", "provinces-1999")
    assert done.returncode == USAGE
    assert "provinces-2012-2025" in one_line(done)


def test_missing_tables_say_to_run_db_init(tmp_path):
    done = council(tmp_path, "principals", "list")
    assert done.returncode == DATABASE
    assert "council db init" in one_line(done)
    assert not (tmp_path / "council.db").exists()


def test_an_unreachable_database_says_so_and_where_to_look(tmp_path):
    url = f"postgresql://nobody@127.0.0.1:{closed_port()}/council"
    done = council(tmp_path, "principals", "list", COUNCIL_DATABASE_URL=url, COUNCIL_CONNECT_TIMEOUT="2")
    assert done.returncode == DATABASE
    assert "COUNCIL_DATABASE_URL" in one_line(done)


def test_a_password_in_the_database_url_is_never_printed(tmp_path):
    url = f"postgresql://nobody:s3cret-pw@127.0.0.1:{closed_port()}/council"
    for args in (["principals", "list"], ["db", "init"]):
        done = council(tmp_path, *args, COUNCIL_DATABASE_URL=url, COUNCIL_CONNECT_TIMEOUT="1")
        assert done.returncode == DATABASE
        assert "s3cret-pw" not in done.stdout + done.stderr


def test_a_refusal_by_the_rules_and_a_missing_principal_exit_1(tmp_path):
    assert council(tmp_path, "db", "init").returncode == 0
    done = council(tmp_path, "principals", "revoke", "nobody@moha", "--reason", "left")
    assert done.returncode == REFUSED
    assert "principal nobody@moha not found" in one_line(done)
    done = council(tmp_path, "principals", "add", "officer@01", "--role", "unit")
    assert done.returncode == REFUSED
    assert "needs the unit" in one_line(done)


@pytest.mark.parametrize(("name", "value", "named"), [
    ("COUNCIL_DATABASE_URL", "mysql://nowhere/db", "COUNCIL_DATABASE_URL"),
    ("COUNCIL_POOL_SIZE", "many", "COUNCIL_POOL_SIZE"),
])
def test_a_bad_setting_is_a_configuration_error_naming_it(tmp_path, name, value, named):
    done = council(tmp_path, "db", "init", **{name: value})
    assert done.returncode == CONFIG
    assert named in one_line(done)


def test_debug_shows_the_traceback(tmp_path):
    done = council(tmp_path, "--debug", "principals", "list")
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "TablesMissingError" in done.stderr


def test_db_init_prints_the_absolute_data_folder_it_uses(tmp_path):
    done = council(tmp_path, "db", "init", COUNCIL_DATA_DIR="relative-data")
    assert done.returncode == 0, done.stderr
    assert f"sqlite:///{tmp_path}/relative-data/council.db" in done.stdout
    assert f"{tmp_path}/relative-data/evidence" in done.stdout
