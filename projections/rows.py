"""The rows of every view, one named type per table: the fold builds them, the tables are declared from them,
the API and the exports read their field names. A column is added here and nowhere else."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple, get_type_hints

# A decimal column: NUMERIC on PostgreSQL, TEXT on SQLite; rows carry the exact decimal as text.
Points = Annotated[str | None, "points"]


class RoundRow(NamedTuple):
    round_key: str
    year: int
    level: str
    phase: str
    units: str
    thresholds: str
    framework: str
    version: int


class ScoreRow(NamedTuple):
    round_key: str
    unit: str
    leaf: str
    field: str
    method: str
    max_points: Points
    self_points: Points
    proposed_points: Points
    adjusted_points: Points
    points: Points
    final_points: Points
    status: str
    evidence_count: int
    open_explanations: int
    version: int
    updated_at: str


class DisputeRow(NamedTuple):
    """An explanation report: filed (the first ten columns), later decided (the last four)."""

    round_key: str
    unit: str
    leaf: str
    explanation_id: str
    state: str
    argument: str
    requested_points: Points
    filed_at: str
    filed_by: str
    window_closes_at: str | None
    decided_at: str | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    decided_points: Points = None


class DisputeDecision(NamedTuple):
    """The UPDATE of a filed explanation by the council's decision."""

    state: str
    decided_at: str
    decided_by: str
    decision_reason: str
    decided_points: Points
    round_key: str
    unit: str
    leaf: str
    explanation_id: str


class WindowMove(NamedTuple):
    """An extension of the explanation window moves the close shown on a unit's filed explanations."""

    window_closes_at: str
    round_key: str
    unit: str


class AuditRow(NamedTuple):
    position: int
    stream: str
    round_key: str | None
    unit: str | None
    leaf: str | None
    version: int
    type: str
    actor: str
    role: str
    recorded_at: str
    points_before: Points
    points_after: Points
    reason: str
    hash: str
    request_id: str


class LedgerRow(NamedTuple):
    """The Merkle leaf hash (hex) of the event at `position`, with the entry it hashes (projections/ledger_format.py):
    once a signed checkpoint's root is recomputed from these rows, they say which event the log lost or changed."""

    position: int
    stream: str
    version: int
    hash: str
    leaf: str


FILING_COLUMNS = DisputeRow._fields[:10]


def column_types(row: type[tuple[Any, ...]], num: str) -> list[tuple[str, str]]:
    """(name, SQL type) of each field of a row type, in order: int → BIGINT, Points → `num`, text → TEXT."""
    hints = get_type_hints(row, include_extras=True)
    return [(name, num if hints[name] == Points else "BIGINT" if hints[name] is int else "TEXT")
            for name in row._fields]  # type: ignore[attr-defined]
