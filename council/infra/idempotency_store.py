"""Durable Idempotency-Key records beside the events: the first answer stored for (principal, key) wins."""

from __future__ import annotations

import json
import threading
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from psycopg import sql
from psycopg_pool import ConnectionPool

from council.infra import ddl
from council.infra.clock import Clock, utcnow
from council.infra.settings import Settings

COLUMNS = "principal, key, request_hash, status, body, headers, created_at"
INSERT = f"INSERT INTO {{table}} ({COLUMNS}) VALUES ({{marks}}) ON CONFLICT (principal, key) DO NOTHING"
SELECT = f"SELECT {COLUMNS} FROM {{table}} WHERE principal = {{mark}} AND key = {{mark}}"


@dataclass(frozen=True)
class Stored:
    principal: str
    key: str
    request_hash: str
    status: int
    body: str
    headers: dict[str, str]
    created_at: datetime


class _Backend(Protocol):
    def select(self, principal: str, key: str) -> tuple[Any, ...] | None: ...

    def insert_or_keep(self, row: tuple[Any, ...]) -> tuple[Any, ...]: ...

    def close(self) -> None: ...


class IdempotencyStore:
    """The table is created by `council db init`; this store only reads and inserts rows."""

    def __init__(self, backend: _Backend, clock: Clock = utcnow) -> None:
        self._backend = backend
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = utcnow) -> IdempotencyStore:
        env = settings.persistence_env()
        if settings.backend == "sqlite":
            return cls(_Sqlite(env), clock)
        return cls(_Postgres(env, settings.pool_size, settings.connect_timeout), clock)

    def lookup(self, principal: str, key: str) -> Stored | None:
        row = self._backend.select(principal, key)
        return None if row is None else _stored(row)

    def save(self, principal: str, key: str, request_hash: str, status: int, body: str,
             headers: dict[str, str]) -> Stored:
        """Insert the answer; when a concurrent request stored one first, return that one instead."""
        row = (principal, key, request_hash, status, body, json.dumps(headers, sort_keys=True), self._clock())
        return _stored(self._backend.insert_or_keep(row))

    def close(self) -> None:
        self._backend.close()


def _stored(row: tuple[Any, ...]) -> Stored:
    principal, key, request_hash, status, body, headers, created_at = row
    if isinstance(created_at, str):
        created_at = datetime.fromisoformat(created_at)
    return Stored(principal, key, request_hash, int(status), body, json.loads(headers), created_at)


class _Sqlite:
    """A connection per call (cheap on SQLite); the file is in WAL mode since `db init`."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._insert = INSERT.format(table=ddl.IDEMPOTENCY_TABLE, marks=", ".join("?" * 7))
        self._select = SELECT.format(table=ddl.IDEMPOTENCY_TABLE, mark="?")

    def select(self, principal: str, key: str) -> tuple[Any, ...] | None:
        with closing(ddl.sqlite_connect(self._env)) as conn:
            row: tuple[Any, ...] | None = conn.execute(self._select, (principal, key)).fetchone()
            return row

    def insert_or_keep(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        # ISO text, not the sqlite3 datetime adapter (deprecated since Python 3.12).
        values = (*row[:-1], row[-1].isoformat())
        with closing(ddl.sqlite_connect(self._env)) as conn, conn:
            conn.execute(self._insert, values)
            stored: tuple[Any, ...] = conn.execute(self._select, row[:2]).fetchone()
            return stored

    def close(self) -> None:
        pass


class _Postgres:
    """A small pool, opened on first use: nothing connects at import, nor before a server forks."""

    def __init__(self, env: dict[str, str], pool_size: int, timeout: int) -> None:
        self._pool = ConnectionPool(
            kwargs=ddl.pg_connect_kwargs(env), min_size=1, max_size=max(pool_size, 1), timeout=timeout,
            open=False, check=ConnectionPool.check_connection, name="council-idempotency",
        )
        table = ddl.idempotency_table(env)
        self._insert = sql.SQL(INSERT).format(table=table, marks=sql.SQL(", ").join([sql.Placeholder()] * 7))
        self._select = sql.SQL(SELECT).format(table=table, mark=sql.Placeholder())
        self._lock = threading.Lock()
        self._opened = False

    def select(self, principal: str, key: str) -> tuple[Any, ...] | None:
        self._open()
        with self._pool.connection() as conn:
            return conn.execute(self._select, (principal, key)).fetchone()

    def insert_or_keep(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        # Autocommit: a conflicting insert waits for the winner to commit, so the SELECT then sees its row.
        self._open()
        with self._pool.connection() as conn:
            conn.execute(self._insert, row)
            stored = conn.execute(self._select, row[:2]).fetchone()
        if stored is None:
            raise RuntimeError(f"idempotency row {row[:2]!r} vanished between its insert and its read")
        return stored

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self._pool.close()
                self._opened = False

    def _open(self) -> None:
        with self._lock:
            if not self._opened:
                self._pool.open()
                self._opened = True
