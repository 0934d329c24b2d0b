"""DDL the library does not do (the PostgreSQL schema, append-only triggers, the Idempotency-Key table), and the
check that `council db init` ran."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from council.infra.settings import Settings

EVENTS_TABLE = {"sqlite": "stored_events", "postgresql": "council_events"}  # the library's names for `council`

SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS stored_events_no_update BEFORE UPDATE ON stored_events "
    "BEGIN SELECT RAISE(ABORT, 'stored events are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS stored_events_no_delete BEFORE DELETE ON stored_events "
    "BEGIN SELECT RAISE(ABORT, 'stored events are append-only'); END",
]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'stored events are append-only (% refused on %)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$
"""
PG_TRIGGER = """
CREATE OR REPLACE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.{table}
FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_event_change()
"""

KEYS_TABLE = "council_request_keys"
# One row per Idempotency-Key, inserted in the transaction of the events it answers for (council/infra/recorders.py);
# expires_at is wall-clock seconds.
KEYS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
  principal TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, request_id TEXT NOT NULL,
  outcome TEXT NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (principal, key)
)
"""
# Fails the transaction it runs in: the recorders' guard checks must abort the insert on the server, since the
# library commits before it re-raises a Python exception from inside its pipeline.
PG_REQUIRE = """
CREATE OR REPLACE FUNCTION {schema}.council_require(ok boolean, problem text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF NOT ok THEN
    RAISE EXCEPTION '%', problem USING ERRCODE = 'check_violation';
  END IF;
  RETURN true;
END $$
"""


class TablesMissingError(Exception):
    """The database answers but `council db init` has not created the tables there."""


def require_tables(settings: Settings) -> None:
    """Refuse to build on a database without the tables, naming the fix (never create them here: the DDL
    race of many workers starting at once is exactly what `council db init` avoids)."""
    needed = [EVENTS_TABLE["sqlite" if settings.backend == "sqlite" else "postgresql"], KEYS_TABLE,
              "council_views"]
    missing = [name for name in needed if name not in _existing(settings, needed)]
    if missing:
        raise TablesMissingError(f"the database {settings.shown_url} has no tables {', '.join(missing)}: "
                                 "run `council db init` once")


def _existing(settings: Settings, names: list[str]) -> set[str]:
    env = settings.persistence_env()
    if settings.backend == "sqlite":
        name = env["SQLITE_DBNAME"]
        if not name.startswith("file:") and not Path(name).exists():
            return set()  # never create an empty database file just to look into it
        with closing(sqlite_connect(env)) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {row[0] for row in rows}
    schema = env["POSTGRES_SCHEMA"] or "public"
    with _pg_connect(env) as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                            "AND table_name = ANY(%s)", (schema, names)).fetchall()
    return {row[0] for row in rows}


def create_schema(settings: Settings) -> None:
    """Before the library creates its tables: PostgreSQL needs the schema to exist."""
    env = settings.persistence_env()
    if settings.backend == "sqlite" or not env["POSTGRES_SCHEMA"]:
        return
    with _pg_connect(env) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(env["POSTGRES_SCHEMA"])))


def protect_events(settings: Settings, table: str) -> None:
    """After the tables exist: refuse UPDATE and DELETE on the events, whoever asks."""
    env = settings.persistence_env()
    if settings.backend == "sqlite":
        with sqlite3.connect(_sqlite_uri(env["SQLITE_DBNAME"]), uri=True) as conn:
            for statement in SQLITE_TRIGGERS:
                conn.execute(statement)
        return
    names = {"schema": sql.Identifier(env["POSTGRES_SCHEMA"] or "public"), "table": sql.Identifier(table)}
    with _pg_connect(env) as conn:
        conn.execute(sql.SQL(PG_FUNCTION).format(**names))
        conn.execute(sql.SQL(PG_TRIGGER).format(**names))


def create_keys_table(settings: Settings) -> None:
    """The Idempotency-Key claims beside the events, and on PostgreSQL the function the guard raises through."""
    env = settings.persistence_env()
    if settings.backend == "sqlite":
        with closing(sqlite_connect(env)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # kept by the file: every later connection is in WAL too
            conn.execute(KEYS_DDL.format(table=KEYS_TABLE))
            conn.commit()
        return
    schema = sql.Identifier(env["POSTGRES_SCHEMA"] or "public")
    with _pg_connect(env) as conn:
        conn.execute(sql.SQL(KEYS_DDL).format(table=sql.SQL("{}.{}").format(schema, sql.Identifier(KEYS_TABLE))))
        conn.execute(sql.SQL(PG_REQUIRE).format(schema=schema))


def sqlite_connect(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(_sqlite_uri(env["SQLITE_DBNAME"]), uri=True, timeout=10)


def pg_connect_kwargs(env: dict[str, str]) -> dict[str, Any]:
    return {
        "dbname": env["POSTGRES_DBNAME"], "host": env["POSTGRES_HOST"], "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"], "password": env["POSTGRES_PASSWORD"] or None,
        "connect_timeout": int(env["POSTGRES_CONNECT_TIMEOUT"]), "autocommit": True,
    }


def _sqlite_uri(name: str) -> str:
    return name if name.startswith("file:") else f"file:{name}"


def _pg_connect(env: dict[str, str]) -> psycopg.Connection:
    return psycopg.connect(**pg_connect_kwargs(env))
