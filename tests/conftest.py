"""Fixtures shared by every layer: a settable clock, and the Council on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql

from council import bootstrap
from council.infra.settings import Settings
from council.services import Council
from projections.read_models import ReadModels

ICT = timezone(timedelta(hours=7))
POSTGRES_URL = os.environ.get("COUNCIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Clock:
    """Server time the tests set; every call moves one second so events keep their order."""

    now: datetime = datetime(2025, 1, 10, 9, 0, tzinfo=ICT)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def set(self, *args: int) -> None:
        self.now = datetime(*args, tzinfo=ICT)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test run on the real server; dropped at the end."""
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}).\n"
            "The PostgreSQL suite never skips: start the server (on Debian: apt-get install postgresql, then "
            "pg_ctlcluster 15 main start) or point COUNCIL_TEST_POSTGRES_URL at one.",
            pytrace=False,
        )
    name = f"par_council_test_{uuid.uuid4().hex[:10]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Each test gets empty tables: a fresh SQLite file, or a fresh schema in the run's database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/council.db"
    database = request.getfixturevalue("postgres_database")
    return f"{database}?schema=t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def env(database_url: str, tmp_path) -> dict[str, str]:
    return {"COUNCIL_DATA_DIR": str(tmp_path / "data"), "COUNCIL_DATABASE_URL": database_url,
            "COUNCIL_EVIDENCE_DIR": str(tmp_path / "evidence"), "COUNCIL_POOL_SIZE": "2"}


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return bootstrap.settings(env)


@pytest.fixture
def components(settings: Settings, clock: Clock) -> Iterator[bootstrap.Components]:
    bootstrap.init_db(settings)
    parts = bootstrap.build(settings, clock=clock)
    yield parts
    parts.close()


@pytest.fixture
def council(components: bootstrap.Components) -> Council:
    return components.council


@pytest.fixture
def read_models(components: bootstrap.Components) -> ReadModels:
    return components.read_models
