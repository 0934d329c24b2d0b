"""Results and audit trail as CSV and XLSX: Vietnamese names intact, numbers as numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from domain.results import Previous
from projections.rows import AuditRow

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TWO = Decimal("0.01")
AUDIT_COLUMNS = AuditRow._fields


def results_rows(results: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """One row per unit: rank, index, group, per field its points, component and rank, the parts by method, and
    the change against the previous round (blank when there is none)."""
    units = results["units"]
    fields = list(units[0].fields) if units else []
    parts = list(units[0].parts) if units else []
    header = ["rank", "code", "name", "region", "ranked", "index", "group",
              *[f"field {f} points" for f in fields], *[f"field {f} component %" for f in fields],
              *[f"rank field {f}" for f in fields], *[f"{part} points" for part in parts],
              "previous round", "previous rank", "previous index", "rank change", "index change", "new"]
    rows = [[r.rank, r.unit.code, r.unit.name, r.unit.region, r.unit.ranked, r.index, r.group or "",
             *[r.fields[f] for f in fields], *[r.components[f].quantize(TWO) for f in fields],
             *[r.field_ranks.get(f) for f in fields], *[r.parts[part] for part in parts],
             *_previous(r.previous), r.rank_change, r.index_change, r.new] for r in units]
    return header, rows


def _previous(previous: Previous | None) -> list[Any]:
    return [None, None, None] if previous is None else [previous.round, previous.rank, previous.index]


def audit_rows(items: Iterable[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    return list(AUDIT_COLUMNS), [[_number(item[c]) if c.startswith("points") else item[c] for c in AUDIT_COLUMNS]
                                 for item in items]


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read the Vietnamese names right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
