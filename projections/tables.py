"""The view tables (rounds, scores, disputes, audit): one set per generation, written with their tracking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder

from projections.fold import Rows
from projections.rows import FILING_COLUMNS, AuditRow, DisputeRow, RoundRow, ScoreRow, column_types

COPY_FROM = 50  # audit rows from which PostgreSQL gets them by COPY rather than INSERTs
# The views' schema: part of every table name, the tracking name and the registry key, so a change of columns
# gets fresh tables filled from the log (by `council db init`, or by the first read) instead of failing on old ones.
SCHEMA = "v2"
TABLES: dict[str, type[tuple[Any, ...]]] = {"rounds": RoundRow, "scores": ScoreRow, "disputes": DisputeRow,
                                             "audit": AuditRow}
NAMES = tuple(TABLES)
KEYS = {
    "rounds": ("round_key",), "scores": ("round_key", "unit", "leaf"),
    "disputes": ("round_key", "unit", "leaf", "explanation_id"), "audit": ("position",),
}
INDEXES = {
    "scores": ["round_key, unit"],
    "audit": ["round_key, unit, leaf, position", "actor, position", "type, position", "recorded_at, position",
              "request_id, position"],
}
REGISTRY_KEY = f"council-{SCHEMA}"
# Columns an upsert may overwrite: a filed explanation keeps its decision when filed rows are written again.
UPSERTS = {"rounds": RoundRow._fields, "scores": ScoreRow._fields, "disputes": FILING_COLUMNS}


class CouncilView:
    """SQL shared by both backends; `param` and `num` differ. Tables are named per generation so a rebuild
    fills fresh ones and readers switch over only when it is done."""

    param = "?"
    num = "TEXT"
    generation = 1
    datastore: Any

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

    def create_view_tables(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for name in NAMES:
                curs.execute(f"CREATE TABLE IF NOT EXISTS {self.table(name)} ({self._ddl(name)})")
                for number, index in enumerate(INDEXES.get(name, ())):
                    curs.execute(f"CREATE INDEX IF NOT EXISTS {self.base(name)}_i{number} "
                                 f"ON {self.table(name)} ({index})")

    def _ddl(self, name: str) -> str:
        columns = [f"{column} {kind}" for column, kind in column_types(TABLES[name], self.num)]
        return ", ".join([*columns, f"PRIMARY KEY ({', '.join(KEYS[name])})"])

    def drop_view_tables(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for name in NAMES:
                curs.execute(f"DROP TABLE IF EXISTS {self.table(name)}")

    def create_tracking_table(self) -> None:
        self.create_table()  # type: ignore[attr-defined]  # the library's tracking table

    def close(self) -> None:
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

    def switch_to(self, generation: int) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._sql(f"UPDATE {self.qualified('council_views')} SET generation = %s WHERE name = %s"),
                         [generation, REGISTRY_KEY])

    def position(self) -> int:
        return self.max_tracking_id(self.tracking_name) or 0  # type: ignore[attr-defined]

    def apply(self, rows: Rows, tracking: Tracking) -> None:
        """Rows and tracking in one transaction: each event is applied exactly once."""
        with self.datastore.transaction(commit=True) as curs:
            for name in UPSERTS:
                values = list(getattr(rows, name).values())
                if values:
                    curs.executemany(self._upsert(name), values)
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
            self._insert_tracking(curs, Tracking(self.tracking_name, tracking.notification_id))  # type: ignore

    def _insert_audit(self, curs: Any, rows: list[AuditRow]) -> None:
        marks = ", ".join(["%s"] * len(AuditRow._fields))
        curs.executemany(self._sql(f"INSERT INTO {self.table('audit')} VALUES ({marks})"), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql(sql.format(**{n: self.table(n) for n in NAMES})), list(params))
            return list(curs.fetchall())

    def _upsert(self, name: str) -> str:
        names, keys = TABLES[name]._fields, KEYS[name]  # type: ignore[attr-defined]
        updates = ", ".join(f"{c} = excluded.{c}" for c in UPSERTS[name] if c not in keys)
        return self._sql(f"INSERT INTO {self.table(name)} ({', '.join(names)}) "
                         f"VALUES ({', '.join(['%s'] * len(names))}) "
                         f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")

    def _sql(self, text: str) -> str:
        return text.replace("%s", self.param)


class SQLiteCouncilView(CouncilView, SQLiteTrackingRecorder):
    param = "?"
    num = "TEXT"


class PostgresCouncilView(CouncilView, PostgresTrackingRecorder):
    param = "%s"
    num = "NUMERIC(7, 2)"

    def qualified(self, table: str) -> str:
        """In the Council's schema, like the library's own tables (never whatever search_path says)."""
        return f'"{self.datastore.schema}"."{table}"'

    def _insert_audit(self, curs: Any, rows: list[AuditRow]) -> None:
        """COPY, not one INSERT per row: the same rows (text parsed by the server as the INSERT's parameters
        are; a position already there fails the same way), several times faster for a page of the log."""
        if len(rows) < COPY_FROM:
            super()._insert_audit(curs, rows)
            return
        with curs.copy(f"COPY {self.table('audit')} ({', '.join(AuditRow._fields)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
