"""The Secretariat's appraisal sheet over HTTP (issue 14): download an XLSX per unit or per field, fill it in as
Excel would, upload it; validated row by row, each unit all or nothing, every refused row named."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from tests.builders import KEY, SECRETARIAT, full_self_assessment, open_round

D = Decimal
SHEET = f"/api/v1/rounds/{KEY}/appraisal-sheet"
UNITS = f"/api/v1/rounds/{KEY}/units"
PROBLEM = "application/problem+json"
POINTS, COMMENT, VERSION, LEAF, UNIT = "Điểm thẩm định đề xuất", "Nhận xét", "Phiên bản", "Mã tiêu chí", "Mã đơn vị"


@pytest.fixture
def council(app):
    return app.extensions["par-council"].get().council


@pytest.fixture
def appraisal(council, clock) -> dict[str, D]:
    """A provincial round in its appraisal phase: unit 01 self-scored every appraised leaf at half its maximum,
    unit 79 the same, unit 48 nothing. Returns unit 01's self points by leaf."""
    open_round(council)
    points = full_self_assessment(council, KEY, "01")
    full_self_assessment(council, KEY, "79")
    clock.set(2025, 2, 10, 9)
    council.advance_phase(KEY, "appraisal", SECRETARIAT)
    return points


class Sheet:
    """A downloaded sheet, edited the way a person in Excel would: by row, in the yellow columns."""

    def __init__(self, data: bytes) -> None:
        self.book = openpyxl.load_workbook(io.BytesIO(data))
        self.sheet = self.book.worksheets[0]
        self.columns = {cell.value: cell.column for cell in self.sheet[1]}

    def rows(self) -> list[dict]:
        """Every data row by title, with its row number in the sheet."""
        titles = list(self.columns)
        return [{"row": number, **dict(zip(titles, values, strict=True))}
                for number, values in enumerate(self.sheet.iter_rows(min_row=2, values_only=True), start=2)]

    def row_of(self, unit: str, leaf: str) -> int:
        return next(r["row"] for r in self.rows() if (r[UNIT], r[LEAF]) == (unit, leaf))

    def fill(self, row: int, points, comment: str | None = None) -> None:
        self.set(row, POINTS, points)
        self.set(row, COMMENT, comment)

    def set(self, row: int, title: str, value) -> None:
        self.sheet.cell(row, self.columns[title]).value = value  # cell(..., value=None) would leave it as it was

    def data(self) -> bytes:
        out = io.BytesIO()
        self.book.save(out)
        return out.getvalue()


def download(caller, **query) -> Sheet:
    answer = caller.get(SHEET, query_string=query)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="phieu-tham-dinh-2024-province')
    return Sheet(answer.data)


def upload(caller, data: bytes, **kw):
    return caller.post(SHEET, data={"file": (io.BytesIO(data), "phieu.xlsx")}, content_type="multipart/form-data",
                       **kw)


def scores(caller, unit: str) -> dict[str, dict]:
    answer = caller.get(f"{UNITS}/{unit}/scores")
    assert answer.status_code == 200, answer.json
    return {s["leaf"]: s for s in answer.json}


def test_the_sheet_of_a_unit_has_a_row_per_appraised_leaf_with_its_version(callers, council, appraisal):
    sheet = download(callers["secretariat"], unit="01")
    assert list(sheet.columns) == ["STT", "Kỳ đánh giá", UNIT, "Tỉnh/thành phố", LEAF, "Tiêu chí", "Điểm tối đa",
                                   "Bước điểm", "Điểm tự đánh giá", "Điểm đề xuất hiện tại", VERSION, POINTS,
                                   COMMENT]
    rows = sheet.rows()
    leaves = council.framework(KEY).leaves("appraisal")
    assert [(r["Kỳ đánh giá"], r[UNIT], r[LEAF]) for r in rows] == [(KEY, "01", leaf.code) for leaf in leaves]
    known = scores(callers["secretariat"], "01")
    first = rows[0]
    assert first["Tiêu chí"] == leaves[0].title and first["Tỉnh/thành phố"] == "Hà Nội"
    assert D(str(first["Điểm tối đa"])) == leaves[0].max_points
    assert D(str(first["Điểm tự đánh giá"])) == appraisal[leaves[0].code]
    assert all(r[VERSION] == known[r[LEAF]]["version"] for r in rows)
    assert all(r[POINTS] is None and r[COMMENT] is None for r in rows)
    cells = sheet.sheet[2]
    assert cells[sheet.columns["Điểm tối đa"] - 1].number_format == "0.00"
    assert sheet.sheet.freeze_panes is not None and sheet.sheet.auto_filter.ref
    assert "Hướng dẫn" in sheet.book.sheetnames


def test_a_unit_with_one_bad_row_records_nothing_and_the_fixed_sheet_records_every_row(callers, appraisal):
    secretariat = callers["secretariat"]
    before = scores(secretariat, "01")
    sheet = download(secretariat, unit="01")
    planned = {}
    for row in sheet.rows():
        leaf, self_points = row[LEAF], appraisal[row[LEAF]]
        if len(planned) % 3 == 0:  # every third leaf gets less than the unit gave itself, with the reason
            points, comment = D("0.00"), "Tài liệu kiểm chứng không đầy đủ"
        else:
            points, comment = self_points, None
        planned[leaf] = (row["row"], points, comment)
        sheet.fill(row["row"], float(points), comment)
    bad_leaf = list(planned)[4]
    bad_row = planned[bad_leaf][0]
    too_much = float(D(str(sheet.rows()[bad_row - 2]["Điểm tối đa"])) + 1)
    sheet.fill(bad_row, too_much)

    refused = upload(secretariat, sheet.data())
    assert (refused.status_code, refused.mimetype) == (422, PROBLEM), refused.json
    body = refused.json
    assert body["type"] == "appraisal-sheet-refused" and body["refused_units"] == ["01"]
    assert [(r["row"], r["unit"], r["leaf"], r["type"]) for r in body["rows"]] == [
        (bad_row, "01", bad_leaf, "points-out-of-range")]
    assert body["recorded"] == [] and "01" in body["detail"]
    assert scores(secretariat, "01") == before  # nothing of the unit: no version moved, no proposal

    sheet.fill(bad_row, float(appraisal[bad_leaf]))
    planned[bad_leaf] = (bad_row, appraisal[bad_leaf], None)
    done = upload(secretariat, sheet.data())
    assert done.status_code == 201, done.json
    (unit,) = done.json["recorded"]
    assert unit["unit"] == "01" and [r["row"] for r in unit["rows"]] == sorted(row for row, _, _ in planned.values())
    assert {r["type"] for r in unit["receipts"]} == {"appraisal-proposed"} and len(unit["receipts"]) == len(planned)
    after = scores(secretariat, "01")
    for leaf, (_, points, comment) in planned.items():
        assert D(after[leaf]["proposed_points"]) == points, leaf
        assert after[leaf]["version"] == before[leaf]["version"] + 1
        history = callers["inspector"].get(f"{UNITS}/01/scores/{leaf}/history").json
        last = history["events"][-1]
        assert (last["type"], last["actor"]["id"], last["actor"]["role"]) == (
            "appraisal-proposed", "secretariat", "secretariat")
        assert D(last["points_after"]) == points and last["data"]["comment"] == (comment or "")
        assert history["verified"] is True


def test_every_refused_row_is_named_with_its_reason(callers, appraisal):
    secretariat = callers["secretariat"]
    sheet = download(secretariat, unit="01")
    rows = sheet.rows()
    others = rows[12:]
    coarse = next(r for r in others if r["Bước điểm"] != 0.01 and r["Điểm tối đa"] > r["Bước điểm"])
    reasonless = next(r for r in others if r is not coarse and appraisal[r[LEAF]] > 0)
    for row in rows:  # every row right to begin with, then one wrong thing per row below
        sheet.fill(row["row"], float(appraisal[row[LEAF]]))
    cases = {  # row number -> the problem type its cells cause
        rows[0]["row"]: "points-off-grid",  # 0.125: more than two decimals
        rows[1]["row"]: "invalid-points",  # text that is no number
        rows[2]["row"]: "points-out-of-range",
        rows[3]["row"]: "version-missing",
        rows[4]["row"]: "invalid-version",
        rows[5]["row"]: "wrong-round",
        rows[6]["row"]: "unknown-leaf",  # a leaf the tree does not have
        rows[7]["row"]: "survey-leaf",  # a leaf scored by the survey
        rows[8]["row"]: "points-missing",  # a comment, no points
        rows[10]["row"]: "duplicate-row",  # the leaf of the row before it again
        coarse["row"]: "points-off-grid",  # off the leaf's step
        reasonless["row"]: "reason-required",  # differs from the self points, without a comment
    }
    sheet.fill(rows[0]["row"], 0.125)
    sheet.fill(rows[1]["row"], "bảy")
    sheet.fill(rows[2]["row"], rows[2]["Điểm tối đa"] + 0.01, "Quá điểm tối đa")
    sheet.set(rows[3]["row"], VERSION, None)
    sheet.set(rows[4]["row"], VERSION, "ba")
    sheet.set(rows[5]["row"], "Kỳ đánh giá", "2023-province")
    sheet.fill(rows[6]["row"], 0, "Không có")
    sheet.set(rows[6]["row"], LEAF, "9.9.9")
    sheet.fill(rows[7]["row"], 0, "Không có")
    sheet.set(rows[7]["row"], LEAF, "1.3.3")
    sheet.fill(rows[8]["row"], None, "Chưa quyết định")
    sheet.set(rows[10]["row"], LEAF, rows[9][LEAF])
    sheet.set(rows[10]["row"], VERSION, rows[9][VERSION])
    sheet.fill(rows[10]["row"], float(appraisal[rows[9][LEAF]]))
    sheet.fill(coarse["row"], float(D(str(coarse["Bước điểm"])) + D("0.01")), "Lệch bước điểm")
    sheet.fill(reasonless["row"], 0)
    sheet.fill(rows[11]["row"], "0,00", "Không có tài liệu kiểm chứng")  # a decimal comma is read as the point

    answer = upload(secretariat, sheet.data())
    assert answer.status_code == 422, answer.json
    found = {r["row"]: r["type"] for r in answer.json["rows"]}
    assert found == cases, answer.json["rows"]
    assert [r["row"] for r in answer.json["rows"]] == sorted(cases)
    assert all(r["detail"] and r["unit"] == "01" for r in answer.json["rows"])
    assert all(s["proposed_points"] is None for s in scores(secretariat, "01").values())

    fixed = download(secretariat, unit="01")  # a fresh sheet filled right: the decimal comma row is recorded too
    for row in fixed.rows():
        fixed.fill(row["row"], float(appraisal[row[LEAF]]))
    fixed.fill(rows[11]["row"], "0,00", "Không có tài liệu kiểm chứng")
    done = upload(secretariat, fixed.data())
    assert done.status_code == 201, done.json
    assert scores(secretariat, "01")[rows[11][LEAF]]["proposed_points"] == "0.00"


def test_a_stale_version_is_refused_with_the_current_one(callers, appraisal):
    secretariat = callers["secretariat"]
    sheet = download(secretariat, unit="01")
    first, second = sheet.rows()[:2]
    leaf, version = first[LEAF], first[VERSION]
    moved = secretariat.post(f"{UNITS}/01/scores/{leaf}/appraisals", json={"points": "0.00", "comment": "Thiếu"},
                             headers={"If-Match": f'"{version}"'})
    assert moved.status_code == 201, moved.json
    sheet.fill(first["row"], float(appraisal[leaf]))
    sheet.fill(second["row"], float(appraisal[second[LEAF]]))
    answer = upload(secretariat, sheet.data())
    assert answer.status_code == 422
    (row,) = answer.json["rows"]
    assert (row["row"], row["type"], row["current_version"]) == (first["row"], "version-conflict", version + 1)
    assert scores(secretariat, "01")[second[LEAF]]["proposed_points"] is None  # the unit's good row waited too


def test_a_field_sheet_records_each_unit_on_its_own_and_takes_the_same_sheet_again(callers, council, appraisal):
    secretariat = callers["secretariat"]
    sheet = download(secretariat, field="2")
    leaves = [leaf.code for leaf in council.framework(KEY).leaves("appraisal") if leaf.field == "2"]
    rows = sheet.rows()
    assert [(r[UNIT], r[LEAF]) for r in rows] == [(u, leaf) for u in ("01", "79", "48") for leaf in leaves]
    assert {r[VERSION] for r in rows if r[UNIT] == "48"} == {1}  # never scored: the version a proposal opens
    for row in rows:
        if row[UNIT] == "01":
            sheet.fill(row["row"], row["Điểm tự đánh giá"])
        elif row[UNIT] == "48":
            sheet.fill(row["row"], 0)  # no self-score to agree with: a comment is needed, and missing
    first = upload(secretariat, sheet.data())
    assert first.status_code == 422
    assert first.json["refused_units"] == ["48"]
    assert {r["type"] for r in first.json["rows"]} == {"reason-required"}
    assert [u["unit"] for u in first.json["recorded"]] == ["01"]
    assert all(s["proposed_points"] is None for s in scores(secretariat, "79").values())

    for row in rows:
        if row[UNIT] == "48":
            sheet.fill(row["row"], 0, "Đơn vị không tự đánh giá, không có tài liệu kiểm chứng")
    again = upload(secretariat, sheet.data())
    assert again.status_code == 201, again.json
    assert [u["unit"] for u in again.json["recorded"]] == ["48"]
    assert [(r["unit"], r["leaf"]) for r in again.json["already_recorded"]] == [("01", leaf) for leaf in leaves]
    assert {leaf: s["proposed_points"] for leaf, s in scores(secretariat, "48").items()} == dict.fromkeys(
        leaves, "0.00")
    unit_01 = scores(secretariat, "01")
    assert all(unit_01[leaf]["version"] == 4 for leaf in leaves)  # self-scored, evidence, proposed: once
    third = upload(secretariat, sheet.data())
    assert (third.status_code, third.json["recorded"]) == (200, [])


def test_the_same_idempotency_key_and_bytes_record_once(callers, appraisal):
    """A retry runs the sheet again: each row already recorded under its version is answered as such (200), never
    recorded twice (the unit transactions are several, so no single stored answer holds them all)."""
    secretariat = callers["secretariat"]
    sheet = download(secretariat, unit="01")
    row = sheet.rows()[0]
    sheet.fill(row["row"], float(appraisal[row[LEAF]]))
    boundary = "sheet-boundary-0001"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="phieu.xlsx"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n")
    body = head.encode() + sheet.data() + f"\r\n--{boundary}--\r\n".encode()
    kind, key = f"multipart/form-data; boundary={boundary}", {"Idempotency-Key": "phieu-01-lan-1"}
    first = secretariat.post(SHEET, data=body, content_type=kind, headers=key)
    assert first.status_code == 201, first.json
    second = secretariat.post(SHEET, data=body, content_type=kind, headers=key)
    assert (second.status_code, second.headers.get("Idempotent-Replayed")) == (200, "true")
    assert second.json["recorded"] == [] and [r["row"] for r in second.json["already_recorded"]] == [row["row"]]
    assert scores(secretariat, "01")[row[LEAF]]["version"] == row[VERSION] + 1


def test_who_when_and_what_the_sheet_endpoints_refuse(callers, council, clock):
    open_round(council)
    full_self_assessment(council, KEY, "01")
    secretariat = callers["secretariat"]
    early = download(secretariat, unit="01")  # any phase: reading is harmless
    row = early.rows()[0]
    early.fill(row["row"], row["Điểm tự đánh giá"])
    wrong_phase = upload(secretariat, early.data())
    assert (wrong_phase.status_code, wrong_phase.json["type"]) == (409, "wrong-phase")
    clock.set(2025, 2, 10, 9)
    council.advance_phase(KEY, "appraisal", SECRETARIAT)

    for caller in ("officer01", "moj", "inspector"):
        assert callers[caller].get(SHEET, query_string={"unit": "01"}).json["type"] == "forbidden-role"
        assert upload(callers[caller], early.data()).json["type"] == "forbidden-role"
    for query in ({}, {"unit": "01", "field": "2"}):
        answer = secretariat.get(SHEET, query_string=query)
        assert (answer.status_code, answer.json["type"]) == (422, "validation-error")
    assert secretariat.get(SHEET, query_string={"unit": "99"}).status_code == 404
    assert secretariat.get(SHEET, query_string={"field": "9"}).status_code == 404
    assert secretariat.get("/api/v1/rounds/2031-province/appraisal-sheet?unit=01").status_code == 404

    not_a_workbook = upload(secretariat, b"%PDF-1.4 not a sheet")
    assert (not_a_workbook.status_code, not_a_workbook.json["type"]) == (415, "unsupported-media-type")
    broken_zip = upload(secretariat, b"PK\x03\x04 broken")
    assert broken_zip.status_code == 415
    empty = download(secretariat, unit="01")
    assert upload(secretariat, empty.data()).json["type"] == "appraisal-sheet-empty"
    stranger = openpyxl.Workbook()
    stranger.active.append(["Mã", "Điểm"])
    stranger.active.append(["01", 1])
    out = io.BytesIO()
    stranger.save(out)
    columns = upload(secretariat, out.getvalue())
    assert (columns.status_code, columns.json["type"]) == (422, "appraisal-sheet-columns")
    assert "Phiên bản" in columns.json["detail"]
    missing_file = secretariat.post(SHEET, data={}, content_type="multipart/form-data")
    assert (missing_file.status_code, missing_file.json["type"]) == (422, "validation-error")
    assert all(s["proposed_points"] is None for s in scores(secretariat, "01").values())


def test_the_openapi_document_declares_the_upload_as_a_multipart_form(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    path = spec["paths"]["/api/v1/rounds/{round_key}/appraisal-sheet"]
    body = path["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    schema = body["multipart/form-data"]["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert schema["properties"]["file"] == {"type": "string", "format": "binary", **{
        k: v for k, v in schema["properties"]["file"].items() if k == "description"}}
    assert schema["required"] == ["file"]
    for method in ("get", "post"):
        assert "(secretariat)" in path[method]["summary"]
    assert "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" in path["get"]["responses"]["200"][
        "content"]
    assert "application/problem+json" in path["post"]["responses"]["422"]["content"]


def test_a_workbook_with_a_damaged_sheet_is_refused_not_a_server_error(callers, appraisal):
    sheet = download(callers["secretariat"], unit="01")
    row = sheet.rows()[0]
    sheet.fill(row["row"], float(appraisal[row[LEAF]]))
    source = zipfile.ZipFile(io.BytesIO(sheet.data()))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, data[: len(data) // 2] if item.filename == "xl/worksheets/sheet1.xml" else data)
    answer = upload(callers["secretariat"], damaged.getvalue())
    assert (answer.status_code, answer.json["type"]) == (415, "unsupported-media-type")
