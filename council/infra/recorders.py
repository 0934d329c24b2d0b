"""The Council's recorders: the library's, plus the write guard (Idempotency-Key claim, principal check) in the
events' own transaction, and, on PostgreSQL, answers within the connect timeout in an outage."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence
from functools import wraps
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor, sql
from psycopg.rows import DictRow, tuple_row
from psycopg_pool import ConnectionPool, PoolTimeout

from council.infra.ddl import KEYS_TABLE

if TYPE_CHECKING:  # the service layer hands the guard in; the adapter only reads it
    from council.services.write_guard import Pending
PRINCIPAL_CHANGED = "principal-changed"  # the message the refusal carries, on both backends
CLAIM_COLUMNS = "principal, key, request_hash, request_id, outcome, expires_at"
# A pooled connection used this recently is handed out without a ping (docs/benchmarks.md, change 4).
PING_IDLE_SECONDS = 1.0
# The largest write the input limits allow held the table lock for 0.57 s (docs/decisions/0006); 5 s is ample.
STATEMENT_TIMEOUT_MS = 5000


class PrincipalChangedError(Exception):
    """The principal acting was revoked, or its token replaced, after the request was authenticated."""


def _fail_fast(method: Callable[..., Any]) -> Callable[..., Any]:
    """The library's retry (10 attempts, 0.2 s apart), except after a PoolTimeout, which is raised at once.

    A PoolTimeout means the pool already waited POSTGRES_CONNECT_TIMEOUT for a connection: retrying it made
    an outage hold every request for 10 x (timeout + 0.2) s instead of answering 503. A broken connection
    (the server restarted) is still retried.
    """
    inner: Callable[..., Any] = method.__wrapped__  # type: ignore[attr-defined]  # the library's, without @retry

    @wraps(inner)
    def call(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, 11):
            try:
                return inner(*args, **kwargs)
            except (InterfaceError, OperationalError) as error:
                if attempt == 10 or isinstance(error.__cause__, PoolTimeout):
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")

    return call


# (position, stream as a lower-case UUID with hyphens, version, the library's topic, stored state): one stored event
# as `scan` reads it, without the library's Notification objects and dict rows (verify reads the whole log).
Row = tuple[int, str, int, str, bytes]


def ping_when_idle(pool: ConnectionPool[Any], idle_seconds: float) -> None:
    """The pool's pre-ping (`POSTGRES_PRE_PING=y`: an empty statement on every checkout, a round trip that was a
    third of a self-score's wall time under load) only for a connection idle for `idle_seconds` or more.

    What the ping is for still holds: a connection that sat in the pool across a database restart (which takes
    seconds) is pinged, found broken and replaced before it serves. A connection returned moments ago served a
    statement moments ago; if the server went away since, its first statement fails as it would have failed a
    moment later, the pool discards it, and the recorder's retry takes a fresh one (bench/faults/postgres_restart.py).
    psycopg_pool takes `check` and `reset` only as constructor arguments and the library constructs the pool, hence
    the two assignments."""
    returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def stamp(conn: Any) -> None:  # `reset`: called as a connection goes back into the pool, in a good state
        returned[conn] = time.monotonic()

    def check(conn: Any) -> None:
        last = returned.get(conn)
        if last is None or time.monotonic() - last >= idle_seconds:
            ConnectionPool.check_connection(conn)

    pool._check, pool._reset = check, stamp


class FailFastRecorder(PostgresApplicationRecorder):
    """PostgreSQL application recorder that answers within the connect timeout when the database is down and
    checks the write guard inside the insert's transaction, while the events table is locked."""

    insert_events = _fail_fast(PostgresApplicationRecorder.insert_events)  # type: ignore[assignment]
    select_events = _fail_fast(PostgresApplicationRecorder.select_events)  # type: ignore[assignment]
    select_notifications = _fail_fast(PostgresApplicationRecorder.select_notifications)  # type: ignore[assignment]
    max_notification_id = _fail_fast(PostgresApplicationRecorder.max_notification_id)  # type: ignore[assignment]

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        if datastore.pre_ping:
            ping_when_idle(datastore.pool, PING_IDLE_SECONDS)

    def scan(self, start: int, limit: int) -> list[Row]:
        """Up to `limit` stored events from position `start` on, in position order, as plain tuples.

        The server writes the stream as text (lower-case, hyphens) and every column in binary, so the rows arrive
        as `Row`s already: no UUID objects, no hex-decoding of the state, no second tuple per row (a third of the
        time of a read of the whole log)."""
        statement = sql.SQL("SELECT notification_id, originator_id::text, originator_version, topic, state "
                            "FROM {}.{} WHERE notification_id >= %s ORDER BY notification_id LIMIT %s").format(
            sql.Identifier(self.datastore.schema), sql.Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, (start, limit), prepare=True, binary=True)
            return curs.fetchall()

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        """Before the table lock: no statement of the insert may run longer than STATEMENT_TIMEOUT, so no single
        write holds the events table (and every other writer) for more than a few seconds."""
        curs.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(f"{STATEMENT_TIMEOUT_MS}ms")))
        super()._lock_table(curs)

    def _fetch_ids_after_insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        pending: Pending | None = kwargs.get("pending")
        if pending is not None and ids is not None:
            self._check(curs, pending, ids)
        return ids

    def _check(self, curs: Cursor[DictRow], pending: Pending, ids: Sequence[int]) -> None:
        """Statements that fail the transaction itself: a Python exception here would be held back by the library
        until after its COMMIT, so every refusal is raised by the server (unique key, council_require)."""
        schema = sql.Identifier(self.datastore.schema or "public")
        guard = pending.guard
        if guard.principal_stream is not None:
            curs.execute(sql.SQL("SELECT {}.council_require(NOT EXISTS (SELECT 1 FROM {}.{} WHERE originator_id = %s "
                                 "AND originator_version > %s), %s) AS ok").format(
                schema, schema, sql.Identifier(self.events_table_name)),
                (guard.principal_stream, guard.principal_version, PRINCIPAL_CHANGED))
            curs.fetchone()
        if guard.claim is not None:
            table = sql.SQL("{}.{}").format(schema, sql.Identifier(KEYS_TABLE))
            curs.execute(sql.SQL("DELETE FROM {} WHERE principal = %s AND key = %s AND expires_at < %s").format(table),
                         (guard.claim.principal, guard.claim.key, int(time.time())))
            curs.execute(sql.SQL(f"INSERT INTO {{}} ({CLAIM_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "
                                 "RETURNING key").format(table), _claim_row(pending, ids))
            curs.fetchone()  # in pipeline mode this waits for the server: a taken key fails here, inside the insert


class GuardedSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite application recorder that checks the write guard in the insert's transaction (the database lock
    makes every write transaction see the latest commit)."""

    def scan(self, start: int, limit: int) -> list[Row]:
        """Up to `limit` stored events from position `start` on, in position order, as plain tuples."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name} "
                      "WHERE rowid >= ? ORDER BY rowid LIMIT ?", (start, limit))
            return [(row[0], str(UUID(row[1])), row[2], row[3], row[4]) for row in c.fetchall()]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        pending: Pending | None = kwargs.get("pending")
        if pending is not None and ids is not None:
            guard = pending.guard
            if guard.principal_stream is not None:
                c.execute(f"SELECT 1 FROM {self.events_table_name} WHERE originator_id = ? AND originator_version > ?",
                          (guard.principal_stream.hex, guard.principal_version))
                if c.fetchone() is not None:
                    raise PrincipalChangedError(PRINCIPAL_CHANGED)
            if guard.claim is not None:
                c.execute(f"DELETE FROM {KEYS_TABLE} WHERE principal = ? AND key = ? AND expires_at < ?",
                          (guard.claim.principal, guard.claim.key, int(time.time())))
                c.execute(f"INSERT INTO {KEYS_TABLE} ({CLAIM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                          _claim_row(pending, ids))
        return ids


def _claim_row(pending: Pending, ids: Sequence[int]) -> tuple[Any, ...]:
    claim = pending.guard.claim
    assert claim is not None
    return (claim.principal, claim.key, claim.request_hash, pending.request_id, pending.outcome(ids),
            pending.expires_at())
