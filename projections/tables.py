"""The view tables (rounds, scores, disputes, audit): one set per generation, written with their tracking by
the one holder of the generation's writer lease."""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder

from projections.fold import Rows
from projections.rows import FILING_COLUMNS, AuditRow, DisputeRow, LedgerRow, RoundRow, ScoreRow, column_types

COPY_FROM = 50  # audit or ledger rows from which PostgreSQL gets them by COPY rather than INSERTs
# The views' schema: part of every table name, the tracking name and the registry key, so a change of columns
# gets fresh tables filled from the log (by `council db init`, or by the first read) instead of failing on old ones.
SCHEMA = "v3"
TABLES: dict[str, type[tuple[Any, ...]]] = {"rounds": RoundRow, "scores": ScoreRow, "disputes": DisputeRow,
                                             "audit": AuditRow, "ledger": LedgerRow}
NAMES = tuple(TABLES)
KEYS = {
    "rounds": ("round_key",), "scores": ("round_key", "unit", "leaf"),
    "disputes": ("round_key", "unit", "leaf", "explanation_id"), "audit": ("position",),
    "ledger": ("position",),
}
INDEXES = {
    "scores": ["round_key, unit"],
    # appended, never inserted: an index's name is its place in the list, and `db init` adds a new one to
    # existing tables; (round_key, position) serves an audit page of a round without sorting the round (issue 13)
    "audit": ["round_key, unit, leaf, position", "actor, position", "type, position", "recorded_at, position",
              "request_id, position", "round_key, position"],
}
REGISTRY_KEY = f"council-{SCHEMA}"
LEASE_POLL = 0.05  # seconds between attempts when a caller waits for a writer lease
# Columns an upsert may overwrite: a filed explanation keeps its decision when filed rows are written again.
UPSERTS = {"rounds": RoundRow._fields, "scores": ScoreRow._fields, "disputes": FILING_COLUMNS}


class CouncilView:
    """SQL shared by both backends; `param` and `num` differ. Tables are named per generation so a rebuild
    fills fresh ones and readers switch over only when it is done."""

    param = "?"
    num = "TEXT"
    generation = 1
    datastore: Any
    owns_datastore = True  # False when the view shares the Council's pool: closing the view leaves it open

    def table(self, name: str) -> str:
        return self.qualified(self.base(name))

    def base(self, name: str) -> str:
        return f"council_{name}_{SCHEMA}_g{self.generation}"

    def qualified(self, table: str) -> str:
        return table

    @property
    def tracking_name(self) -> str:
        """The upstream application's name, per generation, in the library's tracking table."""
        return f"council-{SCHEMA}/g{self.generation}"

    def create_view_tables(self, deferred: bool = False) -> None:
        """The generation's tables, with their keys, and their indexes unless `deferred`: a rebuild loads the
        rows first and builds them after (`create_indexes`), much cheaper than keeping them up row by row."""
        with self.datastore.transaction(commit=True) as curs:
            for name in NAMES:
                curs.execute(f"CREATE TABLE IF NOT EXISTS {self.table(name)} ({self._ddl(name)})")
            if not deferred:
                for statement in self._indexes():
                    curs.execute(statement)

    def _indexes(self) -> list[str]:
        return [f"CREATE INDEX IF NOT EXISTS {self.base(name)}_i{number} ON {self.table(name)} ({index})"
                for name in NAMES for number, index in enumerate(INDEXES.get(name, ()))]

    def _ddl(self, name: str) -> str:
        columns = [f"{column} {kind}" for column, kind in column_types(TABLES[name], self.num)]
        return ", ".join([*columns, f"PRIMARY KEY ({', '.join(KEYS[name])})"])

    def create_indexes(self) -> None:
        """The indexes `reset(deferred=True)` left out (the same as `create_view_tables` makes)."""
        with self.datastore.transaction(commit=True) as curs:
            for statement in self._indexes():
                curs.execute(statement)

    def drop_view_tables(self) -> None:
        """The generation's tables and its tracking row, in one transaction: a position never outlives its rows."""
        with self.datastore.transaction(commit=True) as curs:
            for name in NAMES:
                curs.execute(f"DROP TABLE IF EXISTS {self.table(name)}")
            curs.execute(self._sql(f"DELETE FROM {self.tracking_table()} WHERE application_name = %s"),
                         [self.tracking_name])

    def reset(self, deferred: bool = False) -> None:
        """Empty tables at position 0 for this generation, whatever a dead writer left in it (`deferred`: see
        `create_view_tables`)."""
        self.drop_view_tables()
        self.create_view_tables(deferred)

    def tracking_table(self) -> str:
        return "tracking"  # the library's table on SQLite

    @contextlib.contextmanager
    def writer(self, wait: float = 0.0) -> Iterator[bool]:
        """The writer lease of this generation: True while this view holds it, and then nobody else writes these
        tables; False when another writer (a thread, a process) holds it after `wait` seconds. The holder's
        end (or death) releases it."""
        deadline = time.monotonic() + wait
        while True:
            with self._lease() as held:
                if held or time.monotonic() >= deadline:
                    yield held
                    return
            time.sleep(LEASE_POLL)

    def _lease(self) -> contextlib.AbstractContextManager[bool]:
        raise NotImplementedError

    def retire(self) -> None:
        """Drop a generation readers no longer use (its tables, its tracking row, its lease file)."""
        self.drop_view_tables()
        self._discard_lease()

    def _discard_lease(self) -> None:
        """Nothing to discard where the lease is not a file."""

    def create_tracking_table(self) -> None:
        self.create_table()  # type: ignore[attr-defined]  # the library's tracking table

    def close(self) -> None:
        if self.owns_datastore:
            self.datastore.close()

    def create_registry(self) -> None:
        """Which generation of the tables readers use: one row, switched when a rebuild is done."""
        with self.datastore.transaction(commit=True) as curs:
            registry = self.qualified("council_views")
            curs.execute(f"CREATE TABLE IF NOT EXISTS {registry} (name TEXT PRIMARY KEY, generation INTEGER)")
            curs.execute(self._sql(f"INSERT INTO {registry} VALUES (%s, %s) ON CONFLICT (name) DO NOTHING"),
                         [REGISTRY_KEY, 1])

    def active_generation(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            registry = self.qualified("council_views")
            curs.execute(self._sql(f"SELECT generation FROM {registry} WHERE name = %s"), [REGISTRY_KEY])
            row = curs.fetchone()
        return int(row["generation"]) if row else 1

    def switch_to(self, generation: int, current: int | None = None) -> bool:
        """Readers use `generation` from now on; with `current`, only if the registry still names `current`."""
        registry = self.qualified("council_views")
        guard, params = ("", [generation, REGISTRY_KEY]) if current is None else (
            " AND generation = %s", [generation, REGISTRY_KEY, current])
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._sql(f"UPDATE {registry} SET generation = %s WHERE name = %s{guard}"), params)
            curs.execute(self._sql(f"SELECT generation FROM {registry} WHERE name = %s"), [REGISTRY_KEY])
            row = curs.fetchone()
        return row is not None and int(row["generation"]) == generation

    def position(self) -> int:
        return self.max_tracking_id(self.tracking_name) or 0  # type: ignore[attr-defined]

    def apply(self, rows: Rows, tracking: Tracking, start: int | None = None, fresh: bool = False) -> None:
        """Rows and tracking in one transaction: each event is applied exactly once. With `start` (the position
        the rows were folded from), the transaction commits only if the view is still at `start`. `fresh`: a
        rebuild's page into tables nobody reads yet (see `_writing`)."""
        with self._writing(fresh) as curs:
            for name in UPSERTS:
                values = list(getattr(rows, name).values())
                if values:
                    self._upsert_rows(curs, name, values, fresh)
            if rows.decisions:
                curs.executemany(self._sql(
                    f"UPDATE {self.table('disputes')} SET state = %s, decided_at = %s, decided_by = %s, "
                    "decision_reason = %s, decided_points = %s "
                    "WHERE round_key = %s AND unit = %s AND leaf = %s AND explanation_id = %s"), rows.decisions)
            if rows.windows:  # an extension of the explanation window moves the close of filed explanations
                curs.executemany(self._sql(f"UPDATE {self.table('disputes')} SET window_closes_at = %s "
                                           "WHERE round_key = %s AND unit = %s"), rows.windows)
            if rows.audit:
                self._insert_audit(curs, rows.audit)
            if rows.ledger:
                self._insert_ledger(curs, rows.ledger)
            if start is not None:  # after the writes: on SQLite a transaction that reads first cannot wait to write
                self._require_position(curs, start)
            self._insert_tracking(curs, Tracking(self.tracking_name, tracking.notification_id))  # type: ignore

    def _require_position(self, curs: Any, start: int) -> None:
        found = self._max_tracking_id(self.tracking_name, curs) or 0  # type: ignore[attr-defined]
        if found != start:
            raise IntegrityError(f"{self.tracking_name}: rows folded from position {start}, but the view is at {found}")

    def _writing(self, fresh: bool = False) -> contextlib.AbstractContextManager[Any]:
        """A write transaction (the lease holder's connection where the backend has one)."""
        return self.datastore.transaction(commit=True)  # type: ignore[no-any-return]

    def _upsert_rows(self, curs: Any, name: str, rows: Sequence[Sequence[Any]], fresh: bool = False) -> None:
        curs.executemany(self._upsert(name), rows)

    def _insert_audit(self, curs: Any, rows: Sequence[Sequence[Any]]) -> None:
        self._insert(curs, "audit", AuditRow._fields, rows)

    def _insert_ledger(self, curs: Any, rows: Sequence[Sequence[Any]]) -> None:
        self._insert(curs, "ledger", LedgerRow._fields, rows)

    def _insert(self, curs: Any, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        marks = ", ".join(["%s"] * len(columns))
        curs.executemany(self._sql(f"INSERT INTO {self.table(name)} VALUES ({marks})"), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql(sql.format(**{n: self.table(n) for n in NAMES})), list(params))
            return list(curs.fetchall())

    def _upsert(self, name: str, source: str | None = None) -> str:
        """The upsert of one row of table `name`, or of every row of the table `source` (the same columns)."""
        names, keys = TABLES[name]._fields, KEYS[name]  # type: ignore[attr-defined]
        updates = ", ".join(f"{c} = excluded.{c}" for c in UPSERTS[name] if c not in keys)
        rows = (f"VALUES ({', '.join(['%s'] * len(names))})" if source is None
                else f"SELECT {', '.join(names)} FROM {source}")
        return self._sql(f"INSERT INTO {self.table(name)} ({', '.join(names)}) {rows} "
                         f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")

    def _sql(self, text: str) -> str:
        return text.replace("%s", self.param)


# In-memory SQLite databases live in one process: their leases are locks of that process.
_MEMORY_LEASES: dict[str, threading.Lock] = {}
_MEMORY_LEASES_GUARD = threading.Lock()


class SQLiteCouncilView(CouncilView, SQLiteTrackingRecorder):
    param = "?"
    num = "TEXT"

    def lease_path(self) -> str | None:
        """A file beside the database, one per generation; None for an in-memory database."""
        pool = self.datastore.pool
        if pool.is_sqlite_memory_mode:
            return None
        return f"{pool.db_name.removeprefix('file:').split('?', 1)[0]}.views-{SCHEMA}-g{self.generation}.lock"

    @contextlib.contextmanager
    def _lease(self) -> Iterator[bool]:
        """flock(2) on the generation's lock file: exclusive across processes and threads (each attempt opens the
        file anew), released by the kernel when the holder closes it or dies."""
        path = self.lease_path()
        if path is None:
            with _MEMORY_LEASES_GUARD:
                lock = _MEMORY_LEASES.setdefault(f"{self.datastore.pool.db_name}/{self.tracking_name}",
                                                 threading.Lock())
            held = lock.acquire(blocking=False)
            try:
                yield held
            finally:
                if held:
                    lock.release()
            return
        descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)  # flock needs no write access to the file
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                held = False
            yield held
        finally:
            os.close(descriptor)

    def _discard_lease(self) -> None:
        if (path := self.lease_path()) is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


class PostgresCouncilView(CouncilView, PostgresTrackingRecorder):
    param = "%s"
    num = "NUMERIC(7, 2)"
    _conn: psycopg.Connection[Any] | None = None  # the connection that holds the writer lease, while one does

    def tracking_table(self) -> str:
        return self.qualified(self.tracking_table_name)

    @contextlib.contextmanager
    def _lease(self) -> Iterator[bool]:
        """A session advisory lock named after the schema and the generation, on a connection of the pool that the
        holder keeps (and writes through) until it is done; the server releases it if the holder dies."""
        key = f"{self.datastore.schema}/{self.tracking_name}"
        with self.datastore.get_connection() as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS held", [key]).fetchone()
            if not (row and row["held"]):
                yield False
                return
            self._conn = conn
            try:
                yield True
            finally:
                self._conn = None
                _unlock(conn, key)

    @contextlib.contextmanager
    def _writing(self, fresh: bool = False) -> Iterator[Any]:
        """`fresh`: the commit does not wait for the WAL to reach the disk (synchronous_commit off). A crash may
        lose the last pages of a rebuild, never part of one (rows and tracking commit together), and the tables
        are read only once the rebuild's own switch has committed, which waits for every commit before it."""
        conn = self._conn
        if conn is None:
            with self.datastore.transaction(commit=True) as curs:
                if fresh:
                    curs.execute("SET LOCAL synchronous_commit TO OFF")
                yield curs
            return
        try:
            with conn.transaction(), conn.cursor() as curs:
                if fresh:
                    curs.execute("SET LOCAL synchronous_commit TO OFF")
                yield curs
        except psycopg.IntegrityError as error:  # the library's names, as its own transactions raise them
            raise IntegrityError(str(error)) from error
        except psycopg.InterfaceError as error:
            raise InterfaceError(str(error)) from error
        except psycopg.OperationalError as error:
            raise OperationalError(str(error)) from error

    def qualified(self, table: str) -> str:
        """In the Council's schema, like the library's own tables (never whatever search_path says)."""
        return f'"{self.datastore.schema}"."{table}"'

    def _insert(self, curs: Any, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY, not one INSERT per row: the same rows (text parsed by the server as the INSERT's parameters
        are; a position already there fails the same way), several times faster for a page of the log."""
        if len(rows) < COPY_FROM:
            super()._insert(curs, name, columns, rows)
            return
        with curs.copy(f"COPY {self.table(name)} ({', '.join(columns)}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)

    def _upsert_rows(self, curs: Any, name: str, rows: Sequence[Sequence[Any]], fresh: bool = False) -> None:
        """A rebuild's page (`fresh`: a thousand score rows) by COPY into a temporary table of the transaction,
        then one upsert from it: the same rows, the same conflicts, far fewer round trips. Live writes keep to
        INSERTs (the runtime role needs no TEMPORARY privilege)."""
        if not fresh or len(rows) < COPY_FROM:
            super()._upsert_rows(curs, name, rows)
            return
        staged, columns = f"council_staged_{name}", ", ".join(TABLES[name]._fields)  # type: ignore[attr-defined]
        curs.execute(f"CREATE TEMPORARY TABLE {staged} (LIKE {self.table(name)})")
        with curs.copy(f"COPY {staged} ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
        curs.execute(self._upsert(name, source=staged))
        curs.execute(f"DROP TABLE {staged}")  # a second batch in this transaction stages afresh

    def create_indexes(self) -> None:
        """The indexes `reset(deferred=True)` left out, built on two connections at once (the lease holder's
        and one of the pool: CREATE INDEX keeps writers out, not other builds)."""
        statements = queue.SimpleQueue[str]()
        for statement in self._indexes():
            statements.put(statement)
        failed: list[BaseException] = []

        def build(conn: psycopg.Connection[Any]) -> None:
            try:
                with conn.transaction():
                    while not failed:
                        try:
                            statement = statements.get_nowait()
                        except queue.Empty:
                            return
                        conn.execute(statement)
            except BaseException as error:  # not swallowed: raised below
                failed.append(error)

        with self.datastore.get_connection() as pooled:
            helper = threading.Thread(target=build, args=(pooled,), name="view-indexes")
            helper.start()
            try:
                if self._conn is not None:
                    build(self._conn)
            finally:
                helper.join()
        if failed:
            raise failed[0]


def _unlock(conn: psycopg.Connection[Any], key: str) -> None:
    """Release the lease; a connection that may still hold it is closed, never handed back to the pool."""
    try:
        row = conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0)) AS released", [key]).fetchone()
        released = bool(row and row["released"])
    except psycopg.Error:
        released = False
    if not released:
        conn.close()
