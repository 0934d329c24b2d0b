"""The Secretariat's appraisal sheet (issue 14): download per unit or per field, fill in Excel, upload.

The sheet has one row per appraised leaf (method `appraisal`) with what the Secretariat needs to judge it and the
score's version, and two columns to fill: the proposed points and the comment. Uploaded, every filled row is
checked; each unit whose rows all pass is recorded in one transaction (every row under its own version, as
`POST …/scores/{leaf}/appraisals` with If-Match would), a unit with a refused row records nothing, and the answer
names every refused row by its row number in the sheet. Columns are found by their titles, so a sheet whose
columns were moved or hidden still reads; rows whose points and comment are both empty are left alone.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import ParseError

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validates_schema
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from api import input_limits as limits
from api import spreadsheets
from api.auth import actor, protect
from api.openapi_docs import access
from api.problems import problem
from api.schemas import ReceiptSchema, text
from api.wiring import council
from council.services.appraisal_service import SheetOutcome, SheetRow, SheetScope
from domain.ids import score_id
from domain.values import Role

blp = protect(Blueprint("appraisal-sheets", __name__, url_prefix="/api/v1", description="Appraisal sheets (XLSX)"))

ROWS_MAX = 20_000  # filled rows of one sheet (63 provinces x 69 appraised leaves = 4,347)
SCANNED_MAX = 100_000  # rows read at most, blank ones included
COLUMNS_MAX = 64
REFUSED = "appraisal-sheet-refused"
# What openpyxl raises on a damaged or foreign file (measured by mutating workbooks' bytes and their parts).
UNREADABLE = (zipfile.BadZipFile, zlib.error, ParseError, InvalidFileException, KeyError, IndexError, TypeError,
              ValueError, AttributeError, OSError, EOFError, NotImplementedError)

# The sheet's columns: machine key, Vietnamese title. The unit's name is titled by the round's level.
TITLES = {
    "round": "Kỳ đánh giá", "unit": "Mã đơn vị", "unit_name": "", "leaf": "Mã tiêu chí", "title": "Tiêu chí",
    "max_points": "Điểm tối đa", "step": "Bước điểm", "self_points": "Điểm tự đánh giá",
    "proposed_now": "Điểm đề xuất hiện tại", "version": "Phiên bản",
    "points": "Điểm thẩm định đề xuất", "comment": "Nhận xét",
}
NEEDED = ("unit", "leaf", "version", "points", "comment")
WHOLE = re.compile(r"[0-9]{1,16}")
DECIMAL_COMMA = re.compile(r"[0-9]{1,3},[0-9]{1,2}")


class SheetQuerySchema(Schema):
    unit = text(limits.UNIT_CODE_MAX, minimum=1, metadata={"description": "one unit's sheet: every appraised leaf"})
    field = text(limits.CODE_MAX, minimum=1, metadata={"description": "one field's sheet: its leaves, every unit"})

    @validates_schema
    def one_scope(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("unit" in data) == ("field" in data):
            raise ValidationError("give either unit or field", "unit")


class SheetFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "the filled appraisal sheet (.xlsx)"})


class RecordedRowSchema(Schema):
    row = fields.Int(required=True, metadata={"description": "the row's number in the sheet (the header is row 1)"})
    leaf = fields.Str(required=True)
    version = fields.Int(required=True, metadata={"description": "the score's version with the proposal"})


class RecordedUnitSchema(Schema):
    unit = fields.Str(required=True)
    rows = fields.List(fields.Nested(RecordedRowSchema), required=True, metadata={
        "description": "the sheet's rows recorded"})
    receipts = fields.List(fields.Nested(ReceiptSchema), required=True, metadata={
        "description": "every event of the unit's transaction"})


class SheetRowSchema(Schema):
    row = fields.Int(required=True, metadata={"description": "the row's number in the sheet (the header is row 1)"})
    unit = fields.Str(required=True)
    leaf = fields.Str(required=True)
    version = fields.Int(allow_none=True)


class RefusedRowSchema(Schema):
    row = fields.Int(required=True, metadata={"description": "the row's number in the sheet (the header is row 1)"})
    unit = fields.Str(required=True)
    leaf = fields.Str(required=True)
    type = fields.Str(required=True, metadata={"example": "points-off-grid"})
    detail = fields.Str(required=True)
    current_version = fields.Int(allow_none=True, metadata={"description": "the score's version, when stale"})


class SheetAnswerSchema(Schema):
    round = fields.Str(required=True)
    recorded = fields.List(fields.Nested(RecordedUnitSchema), required=True,
                           metadata={"description": "each unit recorded, in one transaction"})
    already_recorded = fields.List(fields.Nested(SheetRowSchema), required=True, metadata={
        "description": "rows whose proposal this principal had already recorded under their version"})
    skipped = fields.Int(required=True, metadata={"description": "rows left empty (no points, no comment)"})


class SheetRefusedSchema(Schema):
    """problem+json. With `appraisal-sheet-refused`: every refused row in `rows` (units with a refused row recorded
    nothing; the others are in `recorded`). Other types (`validation-error`, `appraisal-sheet-columns`,
    `appraisal-sheet-empty`, `idempotency-key-reused`) carry the problem's common members only."""

    type = fields.Str(required=True, metadata={"example": REFUSED})
    title = fields.Str(required=True)
    status = fields.Int(required=True)
    detail = fields.Str()
    request_id = fields.Str()
    errors = fields.Dict(metadata={"description": "per-field messages of a validation-error"})
    rows = fields.List(fields.Nested(RefusedRowSchema))
    refused_units = fields.List(fields.Str())
    round = fields.Str()
    recorded = fields.List(fields.Nested(RecordedUnitSchema))
    already_recorded = fields.List(fields.Nested(SheetRowSchema))
    skipped = fields.Int()


@blp.route("/rounds/<round_key>/appraisal-sheet")
class AppraisalSheet(MethodView):
    @access(Role.SECRETARIAT, errors=(404,), records=False)
    @blp.arguments(SheetQuerySchema, location="query")
    @blp.response(200, schema={"type": "string", "format": "binary"}, content_type=spreadsheets.XLSX,
                  description="the sheet, one row per appraised leaf, with each score's version")
    def get(self, query: dict[str, Any], round_key: str) -> Response:
        """Download the appraisal sheet of one unit or one field as XLSX (secretariat).

        Each row: the round, the unit's code and name, the leaf's code and title, its maximum and step, the self
        points, the points proposed so far, and the score's version (a proposal is recorded only under it); the
        yellow columns are to fill in: the proposed points and the comment (needed when they differ from the
        self points). Upload the filled sheet with POST to the same address."""
        scope = SheetScope(unit=query.get("unit"), field=query.get("field"))
        sheet = council().appraisal_sheet(round_key, scope, actor())
        which = f"{scope.unit}" if scope.unit is not None else f"linh-vuc-{scope.field}"
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"phieu-tham-dinh-{round_key}-{which}.xlsx")
        return Response(sheet_workbook(sheet), mimetype=spreadsheets.XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @access(Role.SECRETARIAT, errors=(404, 409, 413, 415, 422))
    @blp.arguments(SheetFileSchema, location="files")
    @blp.response(201, SheetAnswerSchema, description="every filled row recorded")
    @blp.alt_response(200, schema=SheetAnswerSchema, success=True,
                      description="nothing new to record: every filled row was already recorded")
    @blp.alt_response(422, schema=SheetRefusedSchema, content_type="application/problem+json",
                      description="rows refused (listed in `rows`; their units recorded nothing), or a sheet "
                                  "without its columns or without a filled row")
    def post(self, files: dict[str, Any], round_key: str) -> Any:
        """Upload a filled appraisal sheet: each unit's rows recorded all or none (secretariat).

        multipart/form-data with the workbook in `file`. Each filled row is checked: a unit and leaf of the round
        (an appraised leaf), points that are a number with at most two decimals on the leaf's grid and not above
        its maximum, the score's version as the sheet gave it and still current, a comment when the points
        differ from the self points, the round in its appraisal phase. Each unit with no refused row is recorded
        in one transaction; a unit with a refused row records nothing. 201 with the receipts per unit; 422
        `appraisal-sheet-refused` listing every refused row (`rows`: row number, unit, leaf, type, detail), with
        the units recorded all the same in `recorded`. A sheet sent again (with the same Idempotency-Key or
        not) records nothing twice: a row whose proposal this principal already recorded under its version is
        answered in `already_recorded` (200 when nothing else is new)."""
        actor().require_role(Role.SECRETARIAT)  # before a stranger's file is read
        rows, skipped = read_sheet(files["file"], round_key)
        outcome = council().propose_sheet(round_key, rows, actor())
        answer = _answer(round_key, outcome, rows, skipped)
        if outcome.refused:
            units = sorted({r.unit for r in outcome.refused})
            detail = (f"{len(outcome.refused)} row(s) refused; nothing was recorded for unit(s) {', '.join(units)}"
                      + (f"; unit(s) {', '.join(outcome.recorded)} recorded" if outcome.recorded else ""))
            return problem(422, REFUSED, "Appraisal Sheet Refused", detail, **SheetAnswerSchema().dump(answer),
                           refused_units=units,
                           rows=[asdict(r) for r in outcome.refused])
        return answer, 201 if outcome.recorded else 200


def _answer(round_key: str, outcome: SheetOutcome, rows: Sequence[SheetRow], skipped: int) -> dict[str, Any]:
    """Each unit recorded with its rows (each with the score's new version) and every receipt of its transaction
    (a score opened by its proposal has two: opened, appraisal-proposed)."""
    recorded = []
    for unit, receipts in outcome.recorded.items():
        proposals = {r.stream: r.version for r in receipts if r.type == "appraisal-proposed"}
        done = [{"row": row.row, "leaf": row.leaf, "version": proposals[stream]} for row in rows
                if row.unit == unit and (stream := str(score_id(round_key, unit, row.leaf))) in proposals]
        recorded.append({"unit": unit, "rows": done, "receipts": receipts})
    return {"round": round_key, "recorded": recorded, "skipped": skipped,
            "already_recorded": [{"row": r.row, "unit": r.unit, "leaf": r.leaf, "version": r.version}
                                 for r in outcome.already_recorded]}


# Writing the sheet


def sheet_columns(level: str) -> spreadsheets.Table:
    unit_title = spreadsheets.UNIT_TITLE.get(level, "Đơn vị")
    column = spreadsheets.Column
    return spreadsheets.Table([
        column("round", TITLES["round"]),
        column("unit", TITLES["unit"], number_format=spreadsheets.TEXT_FORMAT),
        column("unit_name", unit_title),
        column("leaf", TITLES["leaf"], number_format=spreadsheets.TEXT_FORMAT, frozen=True),
        column("title", TITLES["title"], width=60),
        column("max_points", TITLES["max_points"], number_format=spreadsheets.POINTS_FORMAT),
        column("step", TITLES["step"], number_format=spreadsheets.POINTS_FORMAT),
        column("self_points", TITLES["self_points"], number_format=spreadsheets.POINTS_FORMAT),
        column("proposed_now", TITLES["proposed_now"], number_format=spreadsheets.POINTS_FORMAT),
        column("version", TITLES["version"], number_format=spreadsheets.WHOLE_FORMAT),
        column("points", TITLES["points"], number_format=spreadsheets.POINTS_FORMAT, editable=True),
        column("comment", TITLES["comment"], width=50, editable=True),
    ], numbered=True)


def sheet_workbook(sheet: dict[str, Any]) -> bytes:
    """The appraisal sheet as XLSX bytes: the rows to fill, and a page of instructions."""
    header = sheet_columns(sheet["level"])
    rows = [[sheet["round"], line["unit"].code, line["unit"].name, line["leaf"].code, line["leaf"].title,
             line["leaf"].max_points, line["leaf"].step, line["self_points"], line["proposed_points"],
             line["version"], None, None] for line in sheet["lines"]]
    count = len(rows)
    letter = {key: _letter(header, key) for key in ("max_points", "points")}
    grid = DataValidation(type="decimal", operator="between", formula1="0", formula2=f"${letter['max_points']}2",
                          allow_blank=True, showErrorMessage=True, errorTitle="Điểm không hợp lệ",
                          error="Điểm là một số từ 0 đến điểm tối đa của tiêu chí, tối đa hai chữ số thập phân.")
    grid.add(f"{letter['points']}2:{letter['points']}{max(count, 1) + 1}")
    book = Workbook(write_only=True)
    heading = f"Phiếu thẩm định {sheet['round']} - giai đoạn {sheet['phase']}"
    spreadsheets.write_sheet(book, "Phiếu thẩm định", header, rows, heading=heading, validations=[grid])
    notes = book.create_sheet("Hướng dẫn")
    notes.column_dimensions["A"].width = 120
    for line in INSTRUCTIONS:
        notes.append([line])
    book.properties.creator = "par-council"
    book.properties.title = heading
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


INSTRUCTIONS = [
    "Phiếu thẩm định của Tổ Thư ký: mỗi dòng là một tiêu chí thành phần được thẩm định của một đơn vị.",
    "1. Điền cột \"Điểm thẩm định đề xuất\" (số, tối đa hai chữ số thập phân, không vượt điểm tối đa, "
    "là bội số của \"Bước điểm\").",
    "2. Điền cột \"Nhận xét\": bắt buộc khi điểm đề xuất khác điểm tự đánh giá.",
    "3. Dòng để trống cả điểm và nhận xét thì không được ghi nhận; có thể chỉ điền một phần phiếu.",
    "4. Không sửa cột \"Phiên bản\": điểm chỉ được ghi nhận nếu điểm của tiêu chí chưa thay đổi kể từ khi tải phiếu. "
    "Nếu bị từ chối vì phiên bản cũ, hãy tải phiếu mới.",
    "5. Tải phiếu lên (POST cùng địa chỉ, trường \"file\"): mỗi đơn vị được ghi nhận toàn bộ hoặc không dòng nào; "
    "câu trả lời nêu số dòng và lý do của từng dòng bị từ chối.",
    "Thời gian trong hệ thống theo giờ Việt Nam (UTC+7).",
]


def _letter(header: spreadsheets.Table, key: str) -> str:
    return get_column_letter(header.index(key) + 1 + (1 if header.numbered else 0))


# Reading an uploaded sheet


def read_sheet(upload: Any, round_key: str) -> tuple[list[SheetRow], int]:
    """The filled rows of an uploaded sheet, with the rows left empty counted; a file that is not a workbook is
    415, a sheet without its columns or without a filled row is 422."""
    data = upload.read()
    if not data.startswith(b"PK"):
        abort(415, message="the file is not an XLSX workbook: save it from Excel as .xlsx")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except UNREADABLE as error:
        abort(415, message=f"the file cannot be read as an XLSX workbook ({type(error).__name__})")
    try:
        rows, skipped = _rows(book, round_key)
    except UNREADABLE as error:  # the sheet's XML is read row by row: a damaged one shows only now
        abort(415, message=f"the sheet cannot be read as an XLSX worksheet ({type(error).__name__})")
    finally:
        book.close()
    if not rows:
        abort(422, message="no row of the sheet has proposed points or a comment to record",
              type="appraisal-sheet-empty")
    return rows, skipped


def _rows(book: Any, round_key: str) -> tuple[list[SheetRow], int]:
    if not book.worksheets:
        abort(422, message="the workbook has no sheet", type="appraisal-sheet-columns")
    sheet = book.worksheets[0]
    lines = sheet.iter_rows(values_only=True, max_col=COLUMNS_MAX)
    columns = _columns(next(lines, ()))
    rows: list[SheetRow] = []
    skipped = 0
    for number, values in enumerate(_bounded(lines), start=2):
        cells = {key: values[i] if i < len(values) else None for key, i in columns.items()}
        if _blank(cells.get("points")) and _blank(cells.get("comment")):
            skipped += 0 if all(_blank(v) for v in values) else 1
            continue
        rows.append(_row(number, cells, round_key))
        if len(rows) > ROWS_MAX:
            abort(413, message=f"an appraisal sheet holds at most {ROWS_MAX} filled rows")
    return rows, skipped


def _bounded(lines: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    for scanned, values in enumerate(lines, start=1):
        if scanned > SCANNED_MAX:
            abort(413, message=f"an appraisal sheet is read up to row {SCANNED_MAX + 1}")
        yield values


def _columns(header: Sequence[Any]) -> dict[str, int]:
    """Where each known column is, by its title (or its machine name), whatever the order."""
    names = {_key(title): key for key, title in TITLES.items() if title}
    names |= {_key(key): key for key in TITLES}
    names |= {_key(title): "unit_name" for title in spreadsheets.UNIT_TITLE.values()}
    found: dict[str, int] = {}
    for i, title in enumerate(header):
        key = names.get(_key(title)) if isinstance(title, str) else None
        if key is not None and key not in found:
            found[key] = i
    missing = [TITLES[key] for key in NEEDED if key not in found]
    if missing:
        abort(422, message="the first sheet's header row lacks the column(s) " + ", ".join(f'"{m}"' for m in missing)
              + "; upload the sheet as downloaded from GET …/appraisal-sheet", type="appraisal-sheet-columns")
    return found


def _key(title: Any) -> str:
    return re.sub(r"\s+", " ", str(title)).strip().casefold()


def _row(number: int, cells: dict[str, Any], round_key: str) -> SheetRow:
    unit, leaf = _code(cells.get("unit"), unit=True), _code(cells.get("leaf"))
    comment = "" if cells.get("comment") is None else str(cells["comment"]).strip()
    problem_found: tuple[str, str] | None = None
    version = _version(cells.get("version"))
    sheet_round = cells.get("round")
    if not _blank(sheet_round) and str(sheet_round).strip() != round_key:
        problem_found = ("wrong-round", f"the row belongs to round {str(sheet_round).strip()[:64]}, not {round_key}")
    elif not unit or not leaf:
        problem_found = ("row-incomplete", "the row has no unit code or no leaf code")
    elif _blank(cells.get("points")):
        problem_found = ("points-missing", "the row has a comment but no proposed points")
    elif version == "invalid":
        problem_found = ("invalid-version", "the version is a whole number, as the downloaded sheet gave it")
    elif len(comment) > limits.REASON_MAX:
        problem_found = ("comment-too-long", f"a comment holds at most {limits.REASON_MAX} characters")
    elif limits.unstorable(comment) or limits.unstorable(unit) or limits.unstorable(leaf):
        problem_found = ("invalid-characters", "U+0000 and unpaired UTF-16 surrogates cannot be stored")
    return SheetRow(row=number, unit=unit[:limits.UNIT_CODE_MAX * 4], leaf=leaf[:limits.CODE_MAX * 4],
                    points=_points(cells.get("points")), version=version if isinstance(version, int) else None,
                    comment=comment, problem=problem_found)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _code(value: Any, unit: bool = False) -> str:
    """A code as text: a unit code Excel turned into a number (1) is the two-digit code ("01")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value).zfill(2) if unit else str(value)
    if isinstance(value, float):
        return format(value, "g")
    return str(value).strip()


def _version(value: Any) -> int | str | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        return "invalid"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and WHOLE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and 0 <= value <= limits.INTEGER_MAX:
        return value
    return "invalid"


def _points(value: Any) -> object:
    """Points as the domain reads them: a number cell exactly (Excel's binary double cut to 15 digits, as Excel
    shows it), a text cell as written (a decimal comma read as the point). Anything else is passed on for the
    domain to refuse by name."""
    if isinstance(value, bool) or isinstance(value, datetime):
        return value
    if isinstance(value, float):
        try:
            return Decimal(format(value, ".15g"))
        except InvalidOperation:
            return value
    if isinstance(value, str):
        text_value = value.strip()
        return text_value.replace(",", ".") if DECIMAL_COMMA.fullmatch(text_value) else text_value
    return value
