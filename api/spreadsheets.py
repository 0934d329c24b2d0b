"""Results, audit trail and appraisal sheets as CSV and XLSX.

Two readers, two forms of the same rows:

- the CSV is for programs: the machine column names of the JSON (`rank`, `code`, `field 1 points`, …), points as
  decimal text with a point ("7.10"), times as the views keep them (ISO 8601), UTF-8 with a byte-order mark so
  spreadsheet programs read the Vietnamese names right;
- the XLSX is for people (issue 14): the official Vietnamese headers (STT, Mã, Tỉnh/thành phố or Bộ, cơ quan,
  Vùng, Chỉ số, Xếp hạng, Nhóm, "Lĩnh vực 1: Công tác chỉ đạo, điều hành CCHC (9,50 điểm)"), region names in
  Vietnamese, points as numbers shown with two decimals (`0.00`: 7.10 stays 7.10), times as real date-times in
  ICT (UTC+7) shown dd/mm/yyyy hh:mm, a frozen and filtered header row, column widths, and a landscape print
  setup one page wide whose header row repeats on every page.

A header is a list of `Column`s: each is the machine name itself (a `str`, what the CSV writes) and carries how
the XLSX shows it (its Vietnamese title, number format, a conversion of its values). `to_csv` and `to_xlsx`
also take plain strings, so any caller's table still exports.

Other modules build a round's results file with `results_export` (the API's `?format=xlsx|csv` answers the
same bytes) and a region's Vietnamese name with `region_vi`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from api.pages import i18n
from api.wiring import council, read_models
from domain.framework import Framework
from domain.results import Previous
from domain.values import Actor
from projections.rows import AuditRow

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TWO = Decimal("0.01")
AUDIT_COLUMNS = AuditRow._fields
ICT = timezone(timedelta(hours=7), "ICT")

POINTS_FORMAT = "0.00"
WHOLE_FORMAT = "0"
TIME_FORMAT = "dd/mm/yyyy hh:mm"
CHANGE_FORMAT = "+0.00;-0.00;0.00"
RANK_CHANGE_FORMAT = "+0;-0;0"
TEXT_FORMAT = "@"

# Spellings of the six socio-economic regions met in unit lists, to the names the pages' catalogues translate.
REGION_SPELLINGS = {
    "northern midlands and mountain areas": "Northern Midlands and Mountains",
    "north central and central coastal areas": "North Central and Central Coast",
    "south east": "South-East", "southeast": "South-East", "mekong delta": "Mekong River Delta",
}
PARTS_VI = {"appraisal": "Điểm thẩm định", "targets": "Điểm chỉ tiêu KT-XH", "survey": "Điểm điều tra XHH"}


def _first_upper(names: dict[str, str]) -> dict[str, str]:
    """A cell starts with a capital: "thành viên Hội đồng thẩm định" is shown "Thành viên Hội đồng thẩm định"."""
    return {key: name[:1].upper() + name[1:] for key, name in names.items()}


# Roles, events and regions in Vietnamese, from the pages' catalogues (api/pages/translations): one translation.
ROLES_VI = _first_upper(i18n.names_in(i18n.ROLES, "vi"))
EVENTS_VI = _first_upper(i18n.names_in(i18n.EVENTS, "vi"))
REGIONS_VI = {english.casefold(): name for english, name in i18n.names_in(i18n.REGIONS, "vi").items()} | {
    spelling: i18n.translated(english, "vi") for spelling, english in REGION_SPELLINGS.items()}
UNIT_TITLE = {"province": "Tỉnh/thành phố", "ministry": "Bộ, cơ quan"}
LEVEL_VI = {"province": "cấp tỉnh", "ministry": "cấp bộ"}


def region_vi(name: str | None) -> str:
    """A region's Vietnamese name: the shipped lists' English names are translated, any other name is kept."""
    text = (name or "").strip()
    return REGIONS_VI.get(re.sub(r"\s+", " ", text.casefold()), text)


def short_title(title: str) -> str:
    """A tree title as the official tables abbreviate it: "cải cách hành chính" → "CCHC"."""
    return re.sub("cải cách hành chính", "CCHC", title, flags=re.IGNORECASE)


def vi_number(value: Decimal) -> str:
    """Points in Vietnamese writing, for text such as a header: 9.50 → "9,50"."""
    return f"{value:.2f}".replace(".", ",")


def ict(value: datetime | str | None) -> datetime | None:
    """An aware time (or ISO text) as the wall-clock time in Vietnam, without zone: Excel keeps no zone, so the
    header says the times are ICT."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ICT).replace(tzinfo=None)


class Column(str):
    """A column: its machine name (the string itself, the CSV header) and how the XLSX shows it. `part` names the
    XLSX sheet it goes to ("" the first), and a `repeat` column (a unit's code and name) is shown on every sheet."""

    title: str
    number_format: str | None
    show: Callable[[Any], Any] | None
    frozen: bool
    width: float | None
    editable: bool
    part: str
    repeat: bool

    def __new__(cls, key: str, title: str = "", *, number_format: str | None = None,
                show: Callable[[Any], Any] | None = None, frozen: bool = False, width: float | None = None,
                editable: bool = False, part: str = "", repeat: bool = False) -> Column:
        column = super().__new__(cls, key)
        column.title = title or key
        column.number_format = number_format
        column.show = show
        column.frozen = frozen  # this column and those before it stay in view when scrolling sideways
        column.width = width
        column.editable = editable  # a column to fill in (appraisal sheets): highlighted
        column.part = part
        column.repeat = repeat
        return column


class Table(list[Column]):
    """A header of Columns, with how its sheet is laid out in the XLSX."""

    def __init__(self, columns: Iterable[Column], *, sheet: str = "", heading: str = "", numbered: bool = False,
                 appendix: Sequence[tuple[str, Table, list[list[Any]]]] = ()) -> None:
        super().__init__(columns)
        self.sheet = sheet  # the tab's name (31 characters at most)
        self.heading = heading  # printed at the top of every page
        self.numbered = numbered  # an STT column (1, 2, 3 …) before the first column, in the XLSX only
        self.appendix = list(appendix)  # further sheets: (tab name, header, rows)


def _yes_no(value: Any) -> str:
    return "Có" if value else "Không"


def _yes_blank(value: Any) -> str:
    return "Có" if value else ""


def _labelled(labels: Mapping[str, str]) -> Callable[[Any], Any]:
    def show(value: Any) -> Any:
        label = labels.get(str(value)) if value is not None else None
        return f"{label} ({value})" if label else value
    return show


def _plain(labels: Mapping[str, str]) -> Callable[[Any], Any]:
    return lambda value: labels.get(str(value), value) if value is not None else None


# Results


def results_rows(results: dict[str, Any], framework: Framework | None = None) -> tuple[Table, list[list[Any]]]:
    """One row per unit: rank, index, group, per field its points, component and rank, the parts by method, and
    the change against the previous round (blank when there is none). The criteria tree names the fields in the
    XLSX; without one, the round's own tree is read (a request of the API is in progress)."""
    if framework is None:
        framework = council().framework(results["round"])  # the round's tree, copied into its opening event
    units = results["units"]
    maxima: Mapping[str, Decimal] = results.get("maxima") or {}
    fields = list(units[0].fields) if units else list(maxima)
    parts = list(units[0].parts) if units else []
    titles = {node.code: short_title(node.title) for node in framework.fields}
    unit_title = UNIT_TITLE.get(framework.level, "Đơn vị")

    def field_title(code: str) -> str:
        title = f"Lĩnh vực {code}: {titles[code]}" if code in titles else f"Lĩnh vực {code}"
        return f"{title} ({vi_number(maxima[code])} điểm)" if code in maxima else title

    components, previous = "Chỉ số thành phần", "So với kỳ trước"
    header = Table([
        Column("rank", "Xếp hạng", number_format=WHOLE_FORMAT, repeat=True),
        Column("code", "Mã", number_format=TEXT_FORMAT, repeat=True),
        Column("name", unit_title, frozen=True, repeat=True),
        Column("region", "Vùng", show=region_vi, width=20),
        Column("ranked", "Được xếp hạng", show=_yes_no),
        Column("index", "Chỉ số", number_format=POINTS_FORMAT),
        Column("group", "Nhóm"),
        *[Column(f"field {f} points", field_title(f), number_format=POINTS_FORMAT, width=16) for f in fields],
        *[Column(f"field {f} component %", f"Chỉ số thành phần lĩnh vực {f} (%)", number_format=POINTS_FORMAT,
                 part=components) for f in fields],
        *[Column(f"rank field {f}", f"Xếp hạng lĩnh vực {f}", number_format=WHOLE_FORMAT, part=components)
          for f in fields],
        *[Column(f"{part} points", PARTS_VI.get(part, f"Điểm {part}"), number_format=POINTS_FORMAT)
          for part in parts],
        Column("previous round", "Kỳ trước", part=previous),
        Column("previous rank", "Xếp hạng kỳ trước", number_format=WHOLE_FORMAT, part=previous),
        Column("previous index", "Chỉ số kỳ trước", number_format=POINTS_FORMAT, part=previous),
        Column("rank change", "Thay đổi thứ hạng", number_format=RANK_CHANGE_FORMAT, part=previous),
        Column("index change", "Thay đổi chỉ số", number_format=CHANGE_FORMAT, part=previous),
        Column("new", "Mới so với kỳ trước", show=_yes_blank, part=previous),
    ], sheet="Kết quả", heading=_results_heading(results["round"], framework), numbered=True,
        appendix=[("Trung bình theo vùng", *_averages(results))])
    rows = [[r.rank, r.unit.code, r.unit.name, r.unit.region, r.unit.ranked, r.index, r.group or "",
             *[r.fields[f] for f in fields], *[r.components[f].quantize(TWO) for f in fields],
             *[r.field_ranks.get(f) for f in fields], *[r.parts[part] for part in parts],
             *_previous(r.previous), r.rank_change, r.index_change, r.new] for r in units]
    return header, rows


def _results_heading(key: str, framework: Framework) -> str:
    year = key.split("-", 1)[0]
    return f"Kết quả Chỉ số CCHC năm {year} ({LEVEL_VI.get(framework.level, framework.level)}) - {key}"


def _averages(results: dict[str, Any]) -> tuple[Table, list[list[Any]]]:
    """The national and regional averages of the ranked units, with how many units each holds."""
    counts: dict[str, int] = {}
    for r in results["units"]:
        if r.rank is not None:
            counts["national"] = counts.get("national", 0) + 1
            if r.unit.region:
                counts[r.unit.region] = counts.get(r.unit.region, 0) + 1
    header = Table([Column("region", "Vùng", show=region_vi),
                    Column("units", "Số đơn vị được xếp hạng", number_format=WHOLE_FORMAT),
                    Column("average", "Chỉ số trung bình", number_format=POINTS_FORMAT)],
                   sheet="Trung bình theo vùng", heading=f"Chỉ số CCHC trung bình - {results['round']}")
    rows = [[name, counts.get(name, 0), value.quantize(TWO)] for name, value in results.get("averages", {}).items()]
    return header, rows


def _previous(previous: Previous | None) -> list[Any]:
    return [None, None, None] if previous is None else [previous.round, previous.rank, previous.index]


def results_export(round_key: str, fmt: str, reader: Actor | None, after: int | None = None
                   ) -> tuple[bytes, str, str]:
    """A round's results as a file, for any module of the API (the pages link the same download): the bytes,
    the media type and the file name, exactly as `GET /api/v1/rounds/<key>/results?format=xlsx|csv` answers.
    `reader` must be allowed to read the results (None: a trusted local caller)."""
    found = read_models().results(round_key, reader=reader, min_position=after)
    title = f"results-{round_key}"
    header, rows = results_rows(found)
    if fmt == "csv":
        return to_csv(header, rows), CSV, f"{title}.csv"
    return to_xlsx(title, header, rows), XLSX, f"{title}.xlsx"


# Audit trail


def audit_rows(items: Iterable[dict[str, Any]]) -> tuple[Table, list[list[Any]]]:
    """One row per event: the view's columns (the CSV's names), titled in Vietnamese in the XLSX, with the event
    and the role named in Vietnamese and the time in ICT."""
    titles = {
        "position": ("Vị trí trong sổ", None, None), "stream": ("Luồng sự kiện", None, None),
        "round_key": ("Kỳ đánh giá", None, None), "unit": ("Mã đơn vị", None, None),
        "leaf": ("Mã tiêu chí", None, None), "version": ("Phiên bản", None, None),
        "type": ("Sự kiện", None, _labelled(EVENTS_VI)), "actor": ("Người thực hiện", None, None),
        "role": ("Vai trò", None, _plain(ROLES_VI)),
        "recorded_at": ("Thời điểm (giờ Việt Nam, UTC+7)", TIME_FORMAT, _time_or_text),
        "points_before": ("Điểm trước", POINTS_FORMAT, None), "points_after": ("Điểm sau", POINTS_FORMAT, None),
        "reason": ("Lý do", None, None), "hash": ("Mã băm SHA-256", None, None),
        "request_id": ("Mã yêu cầu (X-Request-ID)", None, None),
    }
    columns = []
    for name in AUDIT_COLUMNS:
        title, number_format, show = titles.get(name, (name, None, None))
        columns.append(Column(name, title, number_format=number_format, show=show,
                              width=40 if name in ("hash", "reason") else None))
    header = Table(columns, sheet="Nhật ký", heading="Nhật ký thay đổi (audit trail)")
    return header, [[_number(item[c]) if c.startswith("points") else item[c] for c in AUDIT_COLUMNS]
                    for item in items]


def _time_or_text(value: Any) -> Any:
    return ict(value) or value


# Writers


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read the Vietnamese names right; machine column
    names and values (the XLSX is the form for people)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(name) for name in header])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """One workbook: the table on its first sheet (and a Table's appendix sheets after it), laid out for reading
    and printing. Plain string headers are shown as they are."""
    book = Workbook(write_only=True)
    table = header if isinstance(header, Table) else Table([c if isinstance(c, Column) else Column(c)
                                                            for c in header])
    rows = list(rows)
    parts = list(dict.fromkeys(column.part for column in table))
    for part in parts:  # the first column's sheet first: the main table
        shown = [i for i, column in enumerate(table) if column.part == part or (column.repeat and part)]
        if part and all(table[i].repeat for i in shown):
            continue
        name = part or table.sheet or title
        heading = f"{table.heading} - {part}" if part and table.heading else (table.heading or title)
        write_sheet(book, name, Table([table[i] for i in shown], numbered=table.numbered),
                    [[row[i] for i in shown] for row in rows], heading=heading)
    for name, extra, extra_rows in table.appendix:
        write_sheet(book, name, extra, extra_rows, heading=extra.heading or name)
    book.properties.creator = "par-council"
    book.properties.title = table.heading or title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
INPUT_FILL = PatternFill("solid", start_color="FFF2CC")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center", horizontal="center")
THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WIDTH_SAMPLE = 2000  # rows looked at to size the columns
WIDEST = 60
HEADER_WRAP = 14  # a long title wraps at about this many characters
INVALID_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")


def write_sheet(book: Workbook, name: str, table: Table, rows: Iterable[Sequence[Any]], *, heading: str = "",
                validations: Sequence[DataValidation] = ()) -> None:
    """Append one formatted sheet to a write-only workbook: Vietnamese header row (frozen, filtered, repeated on
    every printed page), each column's number format and width, landscape A4 one page wide."""
    sheet = book.create_sheet(INVALID_SHEET_CHARACTERS.sub(" ", name)[:31] or "Sheet")
    columns: list[Column] = ([Column("stt", "STT", number_format=WHOLE_FORMAT, frozen=table.numbered)]
                             if table.numbered else []) + list(table)
    shown = [[_cell_value(column, value) for column, value in
              zip(columns, ([i] if table.numbered else []) + list(row), strict=True)]
             for i, row in enumerate(rows, start=1)]
    widths = [_width(column, [row[i] for row in shown[:WIDTH_SAMPLE]]) for i, column in enumerate(columns)]
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    lines = max((math.ceil(len(c.title) / max(w - 4, 1)) for c, w in zip(columns, widths, strict=True)), default=1)
    sheet.row_dimensions[1].height = 15 * min(max(lines, 1), 9) + 3
    last = get_column_letter(len(columns))
    frozen = max((i for i, column in enumerate(columns, start=1) if column.frozen), default=0)
    sheet.freeze_panes = f"{get_column_letter(frozen + 1)}2"
    sheet.auto_filter.ref = f"A1:{last}{len(shown) + 1}"
    sheet.print_title_rows = "1:1"
    _print_setup(sheet, heading)
    for validation in validations:
        sheet.data_validations.append(validation)

    sheet.append([_header_cell(sheet, column) for column in columns])
    for row in shown:
        sheet.append([_styled(sheet, column, value) for column, value in zip(columns, row, strict=True)])


def _print_setup(sheet: Any, heading: str) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = 9  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as the rows need
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.gridLines = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    if heading:
        sheet.oddHeader.center.text = heading.replace("&", "&&")
    sheet.oddFooter.center.text = "Trang &P/&N"


def _cell_value(column: Column, value: Any) -> Any:
    if column.show is not None:
        value = column.show(value)
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:  # a naive one is already Vietnam's wall time
        return ict(value)
    return value


def _header_cell(sheet: Any, column: Column) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=column.title)
    cell.font = HEADER_FONT
    cell.fill = INPUT_FILL if column.editable else HEADER_FILL
    cell.alignment = HEADER_ALIGNMENT
    cell.border = BORDER
    return cell


def _styled(sheet: Any, column: Column, value: Any) -> Any:
    """The value as it goes in the sheet: a cell with the column's number format (or the one its type needs),
    highlighted when it is to be filled in; the bare value when it needs neither."""
    number_format = column.number_format if column.number_format != TEXT_FORMAT or isinstance(value, str) else None
    if number_format is None:
        if isinstance(value, float):
            number_format = POINTS_FORMAT
        elif isinstance(value, datetime):
            number_format = TIME_FORMAT
        elif isinstance(value, date):
            number_format = "dd/mm/yyyy"
    formula = isinstance(value, str) and value.startswith("=")
    if number_format is None and not column.editable and not formula:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if formula:
        cell.data_type = "s"  # text someone typed ("=HYPERLINK(…)" as a reason) stays text, never a live formula
    if number_format is not None:
        cell.number_format = number_format
    if column.editable:
        cell.fill = INPUT_FILL
    return cell


def _width(column: Column, values: Sequence[Any]) -> float:
    if column.width is not None:
        return column.width
    longest = max((len(_as_text(column, v)) for v in values if v is not None), default=0)
    title = min(len(column.title), HEADER_WRAP)
    longest_word = max((len(word) for word in column.title.split()), default=0)
    return float(min(max(longest + 2, title + 2, longest_word + 2, 6), WIDEST))


def _as_text(column: Column, value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return "dd/mm/yyyy hh:mm"
    return str(value)


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
