"""The council views (scores, rounds, disputes, audit): tables per generation, written with their tracking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder

from projections.fold import Rows

COPY_FROM = 50  # audit rows from which PostgreSQL gets them by COPY rather than INSERTs
NAMES = ("rounds", "scores", "disputes", "audit")
COLUMNS = {
    "rounds": "round_key TEXT PRIMARY KEY, year INTEGER, level TEXT, phase TEXT, units TEXT, thresholds TEXT, "
              "framework TEXT, version INTEGER",
    "scores": "round_key TEXT, unit TEXT, leaf TEXT, field TEXT, method TEXT, max_points {num}, self_points {num}, "
              "proposed_points {num}, adjusted_points {num}, points {num}, final_points {num}, status TEXT, "
              "evidence_count INTEGER, open_explanations INTEGER, version INTEGER, updated_at TEXT, "
              "PRIMARY KEY (round_key, unit, leaf)",
    "disputes": "round_key TEXT, unit TEXT, leaf TEXT, explanation_id TEXT, state TEXT, argument TEXT, "
                "requested_points {num}, filed_at TEXT, filed_by TEXT, window_closes_at TEXT, decided_at TEXT, "
                "decided_by TEXT, decision_reason TEXT, decided_points {num}, "
                "PRIMARY KEY (round_key, unit, leaf, explanation_id)",
    "audit": "position BIGINT PRIMARY KEY, stream TEXT, round_key TEXT, unit TEXT, leaf TEXT, version INTEGER, "
             "type TEXT, actor TEXT, role TEXT, recorded_at TEXT, points_before {num}, points_after {num}, "
             "reason TEXT, hash TEXT",
}
INDEXES = {
    "scores": ["round_key, unit"],
    "audit": ["round_key, unit, leaf, position", "actor, position", "type, position", "recorded_at, position"],
}
UPSERTS = {
    "rounds": ("round_key",), "scores": ("round_key", "unit", "leaf"),
    "disputes": ("round_key", "unit", "leaf", "explanation_id"),
}


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
        return f"council_{name}_g{self.generation}"

    def qualified(self, table: str) -> str:
        return table

    @property
    def tracking_name(self) -> str:
        """The upstream application's name, per generation, in the library's tracking table."""
        return f"council/g{self.generation}"

    def create_view_tables(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for name in NAMES:
                curs.execute(f"CREATE TABLE IF NOT EXISTS {self.table(name)} ({COLUMNS[name].format(num=self.num)})")
                for number, index in enumerate(INDEXES.get(name, ())):
                    curs.execute(f"CREATE INDEX IF NOT EXISTS {self.base(name)}_i{number} "
                                 f"ON {self.table(name)} ({index})")

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
                         ["council", 1])

    def active_generation(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            registry = self.qualified("council_views")
            curs.execute(self._sql(f"SELECT generation FROM {registry} WHERE name = %s"), ["council"])
            row = curs.fetchone()
        return int(row["generation"]) if row else 1

    def switch_to(self, generation: int) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._sql(f"UPDATE {self.qualified('council_views')} SET generation = %s WHERE name = %s"),
                         [generation, "council"])

    def position(self) -> int:
        return self.max_tracking_id(self.tracking_name) or 0  # type: ignore[attr-defined]

    def apply(self, rows: Rows, tracking: Tracking) -> None:
        """Rows and tracking in one transaction: each event is applied exactly once."""
        with self.datastore.transaction(commit=True) as curs:
            for name in UPSERTS:
                by_width: dict[int, list[tuple[Any, ...]]] = {}
                for row in getattr(rows, name).values():
                    by_width.setdefault(len(row), []).append(row)
                for width, values in by_width.items():
                    curs.executemany(self._upsert(name, width), values)
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

    def _insert_audit(self, curs: Any, rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join(["%s"] * 14)
        curs.executemany(self._sql(f"INSERT INTO {self.table('audit')} VALUES ({marks})"), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._sql(sql.format(**{n: self.table(n) for n in NAMES})), list(params))
            return list(curs.fetchall())

    def _upsert(self, name: str, width: int) -> str:
        names = all_columns(name)[:width]
        keys = UPSERTS[name]
        updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in keys)
        return self._sql(f"INSERT INTO {self.table(name)} ({', '.join(names)}) "
                         f"VALUES ({', '.join(['%s'] * len(names))}) "
                         f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")

    def _sql(self, text: str) -> str:
        return text.replace("%s", self.param)


def all_columns(name: str) -> list[str]:
    """Column names in table order (the definitions without the PRIMARY KEY clause)."""
    definition = COLUMNS[name].split(", PRIMARY KEY")[0]
    return [part.strip().split()[0] for part in definition.split(", ")]


class SQLiteCouncilView(CouncilView, SQLiteTrackingRecorder):
    param = "?"
    num = "TEXT"


class PostgresCouncilView(CouncilView, PostgresTrackingRecorder):
    param = "%s"
    num = "NUMERIC(7, 2)"

    def qualified(self, table: str) -> str:
        """In the Council's schema, like the library's own tables (never whatever search_path says)."""
        return f'"{self.datastore.schema}"."{table}"'

    def _insert_audit(self, curs: Any, rows: list[tuple[Any, ...]]) -> None:
        """COPY, not one INSERT per row: the same rows (text parsed by the server as the INSERT's parameters
        are; a position already there fails the same way), several times faster for a page of the log."""
        if len(rows) < COPY_FROM:
            super()._insert_audit(curs, rows)
            return
        with curs.copy(f"COPY {self.table('audit')} ({', '.join(all_columns('audit'))}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
