"""Idempotency-Key claims, read back: each was inserted with the events it answers for (council/infra/recorders.py),
so a claim found means its command was recorded, once. Reads go through the Council's own connection pool."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from council.infra.ddl import KEYS_TABLE

COLUMNS = "principal, key, request_hash, request_id, outcome, expires_at"


@dataclass(frozen=True)
class Claimed:
    principal: str
    key: str
    request_hash: str
    request_id: str
    outcome: list[dict[str, Any]]  # the receipts of the command's final save, with notification ids
    expires_at: int


class IdempotencyStore:
    """Built on the application recorder's datastore (SQLite or PostgreSQL): no pool of its own."""

    def __init__(self, recorder: Any) -> None:
        self._datastore = recorder.datastore
        postgres = hasattr(self._datastore, "schema")
        mark = "%s" if postgres else "?"
        table = f'"{self._datastore.schema or "public"}".{KEYS_TABLE}' if postgres else KEYS_TABLE
        self._select = f"SELECT {COLUMNS} FROM {table} WHERE principal = {mark} AND key = {mark}"

    def lookup(self, principal: str, key: str) -> Claimed | None:
        """The live claim of (principal, key), or None (never claimed, or expired)."""
        with self._datastore.transaction(commit=False) as curs:
            curs.execute(self._select, (principal, key))
            row = curs.fetchone()
        if row is None:
            return None
        found = Claimed(*(row[name] for name in COLUMNS.split(", ")))
        if found.expires_at < time.time():
            return None
        return Claimed(**{**found.__dict__, "outcome": json.loads(found.outcome)})  # type: ignore[arg-type]

    def close(self) -> None:
        """The pool is the Council's, closed with it."""
