"""For the e2e tests of the views: a database of the test's own on each backend (an SQLite file, or a
PostgreSQL database on the shared server, so its connections can be counted), and a comparison of the views
readers use with a fresh rebuild."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from projections.tables import NAMES, TABLES
from tests.conftest import POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/council.db"
        return
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}); start it or set "
                    "COUNCIL_TEST_POSTGRES_URL", pytrace=False)
    name = f"par_council_e2e_{uuid.uuid4().hex[:10]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


def connections(database_url: str) -> int:
    """Sessions open on the test's PostgreSQL database, this probe's own excepted."""
    name = database_url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()
    return int(row[0]) if row else 0


def table(view: Any, name: str) -> list[tuple[Any, ...]]:
    names = TABLES[name]._fields
    rows = view.query(f"SELECT * FROM {{{name}}} ORDER BY {', '.join(names)}")
    return [tuple(row[c] for c in names) for row in rows]


def differences_from_a_clean_rebuild(read_models: Any) -> dict[str, str]:
    """Each table of the generation readers use against a rebuild from the whole log (dropped afterwards):
    {table: what differs}, empty when they are equal."""
    live = read_models.view()
    clean = read_models.view(read_models.rebuild(switch=False))
    try:
        found = {}
        for name in NAMES:
            mine, theirs = table(live, name), table(clean, name)
            if mine != theirs:
                missing, extra = set(theirs) - set(mine), set(mine) - set(theirs)
                found[name] = (f"{len(mine)} rows, clean rebuild {len(theirs)}; "
                               f"{len(missing)} missing, {len(extra)} extra")
        return found
    finally:
        clean.retire()
