"""The XLSX exports read the way officials read (issue 14): Vietnamese headers with the official terms and the
tree's field titles, regions in Vietnamese, points shown with two decimals, times in ICT, a frozen and filtered
header row, and a print setup one page wide; the CSV keeps the machine names programs rely on."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import openpyxl
import pytest

from api import spreadsheets
from council.infra import unit_lists
from tests.builders import open_round
from tests.integration.test_whole_round import played  # noqa: F401  (a whole round, as a fixture)

D = Decimal
ICT = timezone(timedelta(hours=7))
ROUND = "/api/v1/rounds/2024-province"
OFFICIAL = ["STT", "Xếp hạng", "Mã", "Tỉnh/thành phố", "Vùng", "Được xếp hạng", "Chỉ số", "Nhóm"]
REGIONS = {"Đồng bằng sông Hồng", "Trung du và miền núi phía Bắc", "Bắc Trung Bộ và duyên hải miền Trung",
           "Tây Nguyên", "Đông Nam Bộ", "Đồng bằng sông Cửu Long"}


@pytest.fixture
def council(app):
    """The app's own Council, so the imported `played` fixture plays its round where the API reads."""
    return app.extensions["par-council"].get().council


def workbook(answer) -> openpyxl.Workbook:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == spreadsheets.XLSX
    return openpyxl.load_workbook(io.BytesIO(answer.data))  # not read-only: the layout is read back too


def table(sheet) -> tuple[list[str], list[dict]]:
    """The header and each row as {title: cell}."""
    header = [cell.value for cell in sheet[1]]
    return header, [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


def assert_laid_out_for_people(sheet, rows: int) -> None:
    """A frozen header row, a filter over the whole table, landscape one page wide, the header on every page."""
    assert sheet.freeze_panes is not None and sheet.freeze_panes.endswith("2"), sheet.freeze_panes
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(sheet.max_column)}{rows + 1}"
    assert sheet.page_setup.orientation == "landscape"
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows in ("1:1", "$1:$1")
    widths = [sheet.column_dimensions[openpyxl.utils.get_column_letter(i)].width
              for i in range(1, sheet.max_column + 1)]
    assert all(width and 6 <= width <= 60 for width in widths), widths


def test_the_results_xlsx_speaks_the_official_vietnamese_and_prints_one_page_wide(callers, council, played):  # noqa: F811
    book = workbook(callers["inspector"].get(f"{ROUND}/results?format=xlsx"))
    assert book.sheetnames == ["Kết quả", "Chỉ số thành phần", "So với kỳ trước", "Trung bình theo vùng"]
    sheet = book["Kết quả"]
    header, rows = table(sheet)
    assert header[:8] == OFFICIAL
    tree = council.framework(played)
    fields = header[8:8 + len(tree.fields)]
    assert fields[0] == "Lĩnh vực 1: Công tác chỉ đạo, điều hành CCHC (10,00 điểm)"
    assert [title.split(":")[0] for title in fields] == [f"Lĩnh vực {node.code}" for node in tree.fields]
    assert header[8 + len(fields):] == ["Điểm thẩm định", "Điểm chỉ tiêu KT-XH", "Điểm điều tra XHH"]

    found = {row["Mã"].value: row for row in rows}
    assert [row["STT"].value for row in rows] == [1, 2, 3]
    assert {code: row["Tỉnh/thành phố"].value for code, row in found.items()} == {
        "01": "Hà Nội", "79": "Thành phố Hồ Chí Minh", "48": "Đà Nẵng"}
    assert {code: row["Vùng"].value for code, row in found.items()} == {
        "01": "Đồng bằng sông Hồng", "79": "Đông Nam Bộ", "48": "Bắc Trung Bộ và duyên hải miền Trung"}
    first = found["01"]
    assert (first["Xếp hạng"].value, first["Nhóm"].value, first["Được xếp hạng"].value) == (1, "A", "Có")
    assert D(str(first["Chỉ số"].value)) == D("99.45") and D(str(first[fields[1]].value)) == D("8.25")
    points = ["Chỉ số", *fields, "Điểm thẩm định", "Điểm chỉ tiêu KT-XH", "Điểm điều tra XHH"]
    for row in rows:
        for title in points:
            cell = row[title]
            assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool), (title, cell.value)
            assert cell.number_format == "0.00", (title, cell.number_format)  # 7.10 shows as 7.10, not 7.1
        assert row["Mã"].number_format == "@"  # "01" stays "01"
    assert_laid_out_for_people(sheet, len(rows))
    assert sheet.freeze_panes == "E2"  # the header row, and the rank, code and name when scrolling sideways
    assert "2024" in sheet.oddHeader.center.text and "&P" in sheet.oddFooter.center.text

    components_header, components = table(book["Chỉ số thành phần"])
    assert components_header[:4] == ["STT", "Xếp hạng", "Mã", "Tỉnh/thành phố"]
    component = components[0]["Chỉ số thành phần lĩnh vực 2 (%)"]
    assert (D(str(component.value)), component.number_format) == (D("97.06"), "0.00")
    assert components[0]["Xếp hạng lĩnh vực 2"].value == 1
    assert_laid_out_for_people(book["Chỉ số thành phần"], len(components))
    _, averages = table(book["Trung bình theo vùng"])
    assert averages[0]["Vùng"].value == "Cả nước" and averages[0]["Chỉ số trung bình"].number_format == "0.00"
    assert {row["Vùng"].value for row in averages[1:]} <= REGIONS


def test_a_ministry_round_names_its_units_bo_co_quan(callers, council):
    key = open_round(council, "ministry-876-2022", units=[{"code": "MOJ", "name": "Bộ Tư pháp"},
                                                          {"code": "MOF", "name": "Bộ Tài chính"}])
    book = workbook(callers["secretariat"].get(f"/api/v1/rounds/{key}/results?format=xlsx"))
    header, rows = table(book["Kết quả"])
    assert header[:8] == [*OFFICIAL[:3], "Bộ, cơ quan", *OFFICIAL[4:]]
    assert header[9].startswith("Lĩnh vực 2: Cải cách thể chế (")
    assert {row["Bộ, cơ quan"].value for row in rows} == {"Bộ Tư pháp", "Bộ Tài chính"}


def test_the_audit_xlsx_shows_times_in_ict_and_events_in_vietnamese(callers, played):  # noqa: F811
    query = f"round={played}&unit=01&leaf=2.1.1"
    items = callers["inspector"].get(f"/api/v1/audit?{query}").json["items"]
    book = workbook(callers["inspector"].get(f"/api/v1/audit?{query}&format=xlsx"))
    sheet = book.worksheets[0]
    header, rows = table(sheet)
    assert header == ["Vị trí trong sổ", "Luồng sự kiện", "Kỳ đánh giá", "Mã đơn vị", "Mã tiêu chí", "Phiên bản",
                      "Sự kiện", "Người thực hiện", "Vai trò", "Thời điểm (giờ Việt Nam, UTC+7)", "Điểm trước",
                      "Điểm sau", "Lý do", "Mã băm SHA-256", "Mã yêu cầu (X-Request-ID)"]
    assert len(rows) == len(items) == 8
    for item, row in zip(items, rows, strict=True):
        when = row["Thời điểm (giờ Việt Nam, UTC+7)"]
        assert isinstance(when.value, datetime) and when.number_format == "dd/mm/yyyy hh:mm"
        assert when.value == datetime.fromisoformat(item["recorded_at"]).astimezone(ICT).replace(tzinfo=None)
        assert row["Vị trí trong sổ"].value == item["position"]
    adjusted = rows[4]
    assert adjusted["Sự kiện"].value == "Hội đồng điều chỉnh điểm (council-adjusted)"
    assert adjusted["Vai trò"].value == "Thành viên Hội đồng thẩm định"
    assert (adjusted["Điểm sau"].value, adjusted["Điểm sau"].number_format) == (0.25, "0.00")
    assert rows[0]["Điểm trước"].value is None
    assert_laid_out_for_people(sheet, len(rows))


def test_the_csv_keeps_the_machine_names_and_the_shared_function_builds_the_same_file(app, callers, played):  # noqa: F811
    answer = callers["inspector"].get(f"{ROUND}/results?format=csv")
    assert answer.data.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert header[:7] == ["rank", "code", "name", "region", "ranked", "index", "group"]
    assert rows[0][:7] == ["1", "01", "Hà Nội", "Red River Delta", "True", "99.45", "A"]

    with app.test_request_context():
        data, media_type, name = spreadsheets.results_export(played, "xlsx", reader=None)
        csv_data, csv_type, csv_name = spreadsheets.results_export(played, "csv", reader=None)
    assert (media_type, name, csv_type, csv_name) == (
        spreadsheets.XLSX, f"results-{played}.xlsx", spreadsheets.CSV, f"results-{played}.csv")
    assert csv_data == answer.data
    served = workbook(callers["inspector"].get(f"{ROUND}/results?format=xlsx"))
    built = openpyxl.load_workbook(io.BytesIO(data))
    assert built.sheetnames == served.sheetnames
    for sheet in built.sheetnames:
        assert list(built[sheet].values) == list(served[sheet].values)


def test_every_region_of_the_shipped_unit_lists_has_its_vietnamese_name():
    names = {unit["region"] for name in unit_lists.available() for unit in unit_lists.load(name) if unit["region"]}
    assert names and {spreadsheets.region_vi(name) for name in names} == REGIONS
    assert spreadsheets.region_vi("Tây Nguyên") == "Tây Nguyên"  # a name already in Vietnamese stays
    assert spreadsheets.region_vi("") == ""


def test_text_that_looks_like_a_formula_stays_text():
    item = {"position": 1, "stream": "s", "round_key": "2024-province", "unit": "01", "leaf": "2.1.1", "version": 5,
            "type": "council-adjusted", "actor": "member@moj", "role": "council",
            "recorded_at": "2025-02-10T02:00:00+00:00", "points_before": "0.75", "points_after": "0.25",
            "reason": '=HYPERLINK("http://example.invalid","Xem")', "hash": "ab" * 32, "request_id": "r-1"}
    book = openpyxl.load_workbook(io.BytesIO(spreadsheets.to_xlsx("audit", *spreadsheets.audit_rows([item]))))
    _, (row,) = table(book.worksheets[0])
    assert (row["Lý do"].value, row["Lý do"].data_type) == (item["reason"], "s")
    assert row["Thời điểm (giờ Việt Nam, UTC+7)"].value == datetime(2025, 2, 10, 9, 0)
