"""DDL the library does not do (the PostgreSQL schema, append-only triggers, the Idempotency-Key table, the runtime
role's privileges), and the check that `council db init` ran."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from council.infra.settings import ConfigError, Settings

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

# The role the server, `projections run` and the other everyday commands connect as (through a LOGIN role that is a
# member of it): docs/decisions/0009-least-privilege.md says what it may do and why.
RUNTIME_ROLE = "council_runtime"
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
TRACKING_TABLE = "notification_tracking"  # the library's tracking table (PostgresTrackingRecorder's default name)
REGISTRY_TABLE = "council_views"
VIEW_TABLE = re.compile(r"council_[a-z]+_v[0-9]+_g[0-9]+")  # projections/tables.py: council_{name}_{schema}_g{n}
# Table privileges of the runtime role; every other table of the schema gets none from `db init`. DELETE on the
# events is there only because PostgreSQL 15 lets LOCK TABLE ... IN EXCLUSIVE MODE (which the library takes on
# every insert) only to UPDATE, DELETE or TRUNCATE; the append-only trigger refuses every DELETE.
RUNTIME_TABLES = {"events": "SELECT, INSERT, DELETE", KEYS_TABLE: "SELECT, INSERT, DELETE",
                  TRACKING_TABLE: "SELECT, INSERT, UPDATE", REGISTRY_TABLE: "SELECT"}
VIEW_PRIVILEGES = "SELECT, INSERT, UPDATE"  # upserts, the disputes' UPDATE, COPY of audit rows


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


def grant_runtime(settings: Settings, events_table: str, role: str = RUNTIME_ROLE) -> None:
    """On PostgreSQL: create the runtime role (NOLOGIN, once: roles are cluster-wide) and give it exactly what the
    server needs in this schema, granted afresh on every run; tables the view rebuild creates later (as the role
    that ran `db init`) get the views' privileges by default. Nothing on SQLite, which has no roles."""
    if settings.backend == "sqlite":
        return
    if not ROLE_NAME.fullmatch(role):
        raise ConfigError(f"the runtime role is a lower-case PostgreSQL name (letters, digits, _), not {role!r}")
    env = settings.persistence_env()
    name, schema = sql.Identifier(role), env["POSTGRES_SCHEMA"] or "public"
    with _pg_connect(env) as conn:
        _create_role(conn, role)
        with conn.transaction():
            _refuse_unsafe_role(conn, role, schema, events_table)
            for statement, args in _runtime_grants(conn, schema, events_table):
                conn.execute(sql.SQL(statement).format(*args, role=name))


def _create_role(conn: psycopg.Connection, role: str) -> None:
    """CREATE ROLE if it is missing; a twin `db init` creating it at the same instant is not an error."""
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
        return
    try:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        pass


def _refuse_unsafe_role(conn: psycopg.Connection, role: str, schema: str, events_table: str) -> None:
    """A runtime role that is a superuser, or owns the events table, could switch the append-only trigger off."""
    row = conn.execute("SELECT r.rolsuper OR r.rolbypassrls OR pg_has_role(r.oid, c.relowner, 'MEMBER') AS unsafe "
                       "FROM pg_roles r, pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE r.rolname = %s AND n.nspname = %s AND c.relname = %s",
                       [role, schema, events_table]).fetchone()
    if row is None or row[0]:
        raise ConfigError(f"the runtime role {role} is a superuser or may act as the owner of the events table: "
                          "it must be a role of its own, without those rights")


def _runtime_grants(conn: psycopg.Connection, schema: str, events_table: str) -> list[tuple[str, list[Any]]]:
    """The statements, in order: usage of the schema, each known table's privileges (revoked first, so a grant
    made by hand does not survive a run), the views, the events' sequence, the guard's function, the defaults."""
    space = sql.Identifier(schema)
    statements: list[tuple[str, list[Any]]] = [("GRANT USAGE ON SCHEMA {} TO {role}", [space])]
    tables = {row[0] for row in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema]).fetchall()}
    named = {events_table if key == "events" else key: privileges for key, privileges in RUNTIME_TABLES.items()}
    named |= {table: VIEW_PRIVILEGES for table in tables if VIEW_TABLE.fullmatch(table)}
    for table in sorted(named.keys() & tables):
        target = sql.SQL("{}.{}").format(space, sql.Identifier(table))
        statements.append(("REVOKE ALL ON {} FROM {role}", [target]))
        statements.append((f"GRANT {named[table]} ON {{}} TO {{role}}", [target]))
    events = sql.SQL("{}.{}").format(space, sql.Identifier(events_table)).as_string(conn)
    sequence = conn.execute("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE c.oid = pg_get_serial_sequence(%s, 'notification_id')::regclass",
                            [events]).fetchone()
    if sequence:  # USAGE: nextval for the insert's default; no setval (UPDATE), which could reuse positions
        statements.append(("GRANT USAGE ON SEQUENCE {} TO {role}", [sql.Identifier(*sequence)]))
    statements.append(("GRANT EXECUTE ON FUNCTION {}.council_require(boolean, text) TO {role}", [space]))
    statements.append((f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{}} GRANT {VIEW_PRIVILEGES} ON TABLES TO {{role}}",
                       [space]))
    return statements


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
