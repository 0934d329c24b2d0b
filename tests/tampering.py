"""What someone who can write to the database, but does not hold the council's key, can do to the events table:
run SQL as its owner or a superuser (append-only triggers out of the way), and store events they built themselves
with the public hash algorithm (domain/integrity.py), but without the council's seal."""

from __future__ import annotations

import sqlite3
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper

from council.services.principal_service import token_hash
from domain.integrity import recompute
from domain.principal import Principal, TokenIndex
from domain.values import Actor, Role

FORGED_TOKEN = "forged-token-of-mallory"
TABLES = {"sqlite": "stored_events", "postgresql": "council_events"}


def is_sqlite(env: dict[str, str]) -> bool:
    return env["COUNCIL_DATABASE_URL"].startswith("sqlite")


def execute(env: dict[str, str], statements: list[tuple[str, list[Any]]]) -> None:
    """Run statements on the events table (`{table}` in them) with its append-only triggers disabled."""
    url = env["COUNCIL_DATABASE_URL"]
    if is_sqlite(env):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("DROP TRIGGER IF EXISTS stored_events_no_update")
            conn.execute("DROP TRIGGER IF EXISTS stored_events_no_delete")
            for sql, params in statements:
                conn.execute(sql.format(table=TABLES["sqlite"]).replace("%s", "?"), params)
        return
    database, schema = url.split("?schema=")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("ALTER TABLE council_events DISABLE TRIGGER events_append_only")
        for sql, params in statements:
            conn.execute(sql.format(table=TABLES["postgresql"]), params)
        conn.execute("ALTER TABLE council_events ENABLE TRIGGER events_append_only")


def stream_key(env: dict[str, str], stream: UUID | str) -> str:
    stream = UUID(str(stream))
    return stream.hex if is_sqlite(env) else str(stream)


def stored_without_seal(council: Any, event: Any) -> Any:
    """The stored form of an event as an attacker makes it: the library's own mapper, no key, no (new) seal."""
    return Mapper(council.mapper.transcoder).to_stored_event(event)


def insert(council: Any, env: dict[str, str], events: list[Any]) -> None:
    """INSERT events straight into the table, at the end of the log."""
    rows = []
    for event in events:
        stored = stored_without_seal(council, event)
        rows.append(("INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)",
                     [stream_key(env, stored.originator_id), stored.originator_version, stored.topic, stored.state]))
    execute(env, rows)


def replace_state(council: Any, env: dict[str, str], event: Any) -> None:
    """UPDATE the stored state of (the event's stream, version) to the event as given."""
    stored = stored_without_seal(council, event)
    execute(env, [("UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
                   [stored.state, stream_key(env, event.originator_id), event.originator_version])])


def position_column(env: dict[str, str]) -> str:
    return "rowid" if is_sqlite(env) else "notification_id"


def forge_principal(council: Any, env: dict[str, str]) -> list[Any]:
    """A secretariat principal "mallory@forged" and its token index (FORGED_TOKEN), built with the domain's own
    code, so every hash and link is right, and INSERTed with SQL."""
    ctx = council.context(Actor(id="cli:mallory", role=Role.ADMIN))
    principal = Principal.register("mallory@forged", "secretariat", token_hash(FORGED_TOKEN), ctx)
    index = TokenIndex.issue(principal, ctx)
    events = [*principal.collect_events(), *index.collect_events()]
    assert all(recompute(event) == event.hash for event in events)
    insert(council, env, events)
    return events
