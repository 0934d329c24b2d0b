"""The read side over HTTP: results as JSON, CSV and XLSX, the audit trail paged and exported, read-your-writes
with `after`, disputes, scopes and query validation, all as problem+json when refused."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

import openpyxl
import pytest

from api import spreadsheets
from api.spreadsheets import AUDIT_COLUMNS
from tests.api.test_scores_api import PROBLEM, SCORE, open_round
from tests.builders import ICT
from tests.integration.test_whole_round import played  # noqa: F401  (a whole round, as a fixture)

D = Decimal
ROUND = "/api/v1/rounds/2024-province"
AUDIT = "/api/v1/audit"
NAMES = {"01": "Hà Nội", "79": "Thành phố Hồ Chí Minh", "48": "Đà Nẵng"}
TWO_PLACES = re.compile(r"^-?\d+\.\d{2}$")
STORY = ["opened", "self-scored", "evidence-attached", "appraisal-proposed", "council-adjusted",
         "explanation-filed", "explanation-accepted", "finalized"]


@pytest.fixture
def council(app):
    """The app's own Council, so the imported `played` fixture plays its round where the API reads."""
    return app.extensions["par-council"].get().council


def url(path: str, **query) -> str:
    params = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in query.items()}
    return f"{path}?{urlencode(params)}" if params else path


def ok(answer, status: int = 200):
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:500])
    return answer


def refused(answer, status: int, type_: str):
    assert (answer.status_code, answer.mimetype, answer.json["type"]) == (status, PROBLEM, type_), answer.json
    return answer.json


def test_results_as_json(callers, played):  # noqa: F811
    body = ok(callers["inspector"].get(f"{ROUND}/results")).json
    assert (body["round"], body["phase"]) == (played, "finalized")
    units = {u["unit"]["code"]: u for u in body["units"]}
    assert {code: u["unit"]["name"] for code, u in units.items()} == NAMES
    assert (units["01"]["index"], units["01"]["rank"], units["01"]["group"]) == ("99.45", 1, "A")
    assert units["48"]["index"] == "32.00"
    assert units["01"]["fields"]["2"] == "8.25" and units["01"]["components"]["2"] == "97.06"
    assert [u["unit"]["code"] for u in body["units"]] == ["01", "79", "48"]
    first = units["01"]
    assert first["field_ranks"]["2"] == 1 and first["parts"]["targets"] == "0.00"
    assert D(first["parts"]["appraisal"]) + D(first["parts"]["targets"]) + D(first["parts"]["survey"]) == D("99.45")
    assert (first["previous"], first["rank_change"], first["index_change"], first["new"]) == (None, None, None, False)
    assert body["previous_round"] is None and body["maxima"]["2"] == "8.50"
    summary = body["summary"]
    assert (summary["ranked"], summary["groups"]["A"], summary["previous_round"], summary["largest_rise"]) == (
        3, 1, None, None)
    assert summary["mean"] == body["averages"]["national"]


def test_results_as_csv_keep_the_vietnamese_names_and_two_place_numbers(callers, played):  # noqa: F811
    answer = ok(callers["inspector"].get(f"{ROUND}/results?format=csv"))
    assert answer.mimetype == "text/csv"
    assert "charset=utf-8" in answer.headers["Content-Type"].lower()
    assert answer.headers["Content-Disposition"] == f'attachment; filename="results-{played}.csv"'
    assert answer.data.startswith(b"\xef\xbb\xbf")
    text = answer.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["code"]: row["name"] for row in rows} == NAMES
    assert [row["code"] for row in rows] == ["01", "79", "48"]
    json_index = {u["unit"]["code"]: u["index"] for u in callers["inspector"].get(f"{ROUND}/results").json["units"]}
    for row in rows:
        assert TWO_PLACES.match(row["index"]), row["index"]
        assert D(row["index"]).as_tuple().exponent == -2
        assert D(row["index"]) == D(json_index[row["code"]])
        for name, value in row.items():
            if name.startswith("field "):
                assert TWO_PLACES.match(value), (name, value)
    assert rows[0]["index"] == "99.45" and rows[0]["rank"] == "1" and rows[0]["group"] == "A"
    fields = [name.split()[1] for name in rows[0] if name.startswith("field ") and name.endswith(" points")]
    assert fields and [f"rank field {f}" for f in fields] == [n for n in rows[0] if n.startswith("rank field ")]
    for column in ("appraisal points", "targets points", "survey points", "previous round", "previous rank",
                   "previous index", "rank change", "index change", "new"):
        assert column in rows[0], column
    assert rows[0]["rank field 2"] == "1" and rows[0]["targets points"] == "0.00"
    assert (rows[0]["previous rank"], rows[0]["rank change"], rows[0]["new"]) == ("", "", "False")


def test_results_as_xlsx_have_numbers_as_numbers_and_the_names_intact(callers, played):  # noqa: F811
    answer = ok(callers["inspector"].get(f"{ROUND}/results?format=xlsx"))
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="results-{played}.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(answer.data), read_only=True)
    try:
        sheet = book.worksheets[0]
        header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    assert header[:8] == ["STT", "Xếp hạng", "Mã", "Tỉnh/thành phố", "Vùng", "Được xếp hạng", "Chỉ số", "Nhóm"]
    found = {row[2]: dict(zip(header, row, strict=True)) for row in rows}
    assert {code: row["Tỉnh/thành phố"] for code, row in found.items()} == NAMES
    for row in found.values():
        assert isinstance(row["Chỉ số"], (int, float)) and not isinstance(row["Chỉ số"], bool), row["Chỉ số"]
        assert all(isinstance(row[n], (int, float)) for n in header if n.startswith("Lĩnh vực "))
    assert D(str(found["01"]["Chỉ số"])) == D("99.45")
    assert D(str(found["48"]["Chỉ số"])) == D("32")
    assert (found["01"]["Xếp hạng"], found["01"]["Nhóm"]) == (1, "A")


def test_the_audit_pages_over_http_without_gaps_or_repeats(app, callers, played):  # noqa: F811
    head = app.extensions["par-council"].get().council.recorder.max_notification_id()
    positions, cursor, pages = [], 0, 0
    while True:
        body = ok(callers["inspector"].get(url(AUDIT, cursor=cursor, limit=97))).json
        pages += 1
        positions += [item["position"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        assert len(body["items"]) == 97 and body["next_cursor"] == body["items"][-1]["position"]
        cursor = body["next_cursor"]
    assert positions == list(range(1, head + 1))
    assert pages == -(-head // 97)

    story = ok(callers["inspector"].get(url(AUDIT, round=played, unit="01", leaf="2.1.1", limit=3)))
    assert [item["type"] for item in story.json["items"]] == STORY[:3]
    rest = ok(callers["inspector"].get(url(AUDIT, round=played, unit="01", leaf="2.1.1",
                                           cursor=story.json["next_cursor"]))).json
    assert [item["type"] for item in rest["items"]] == STORY[3:] and rest["next_cursor"] is None
    adjusted = rest["items"][1]
    assert (adjusted["actor"], adjusted["points_before"], adjusted["points_after"], adjusted["reason"]) == (
        "member@moj", "0.75", "0.25", "Văn bản ban hành chậm so với kế hoạch")

    since = datetime(2025, 3, 12, 9, tzinfo=ICT)
    until = datetime(2025, 3, 21, 9, 0, 2, tzinfo=ICT)
    timed = ok(callers["inspector"].get(url(AUDIT, round=played, unit="01", leaf="2.1.1", since=since,
                                            until=until))).json
    assert [item["type"] for item in timed["items"]] == ["explanation-filed"]  # until is exclusive
    typed = ok(callers["inspector"].get(url(AUDIT, unit="01", type="council-adjusted"))).json["items"]
    assert [(i["leaf"], i["actor"]) for i in typed] == [("2.1.1", "member@moj")]


def test_the_audit_as_csv_and_xlsx(callers, played):  # noqa: F811
    query = {"round": played, "unit": "01", "leaf": "2.1.1"}
    answer = ok(callers["inspector"].get(url(AUDIT, format="csv", **query)))
    assert answer.mimetype == "text/csv" and answer.data.startswith(b"\xef\xbb\xbf")
    assert answer.headers["Content-Disposition"] == 'attachment; filename="audit.csv"'
    header, *rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert header == list(AUDIT_COLUMNS)
    rows = [dict(zip(header, row, strict=True)) for row in rows]
    assert [row["type"] for row in rows] == STORY
    adjusted = rows[4]
    assert (adjusted["actor"], adjusted["points_before"], adjusted["points_after"]) == ("member@moj", "0.75", "0.25")
    assert adjusted["reason"] == "Văn bản ban hành chậm so với kế hoạch"
    assert rows[6]["reason"] == "Chấp nhận một phần" and rows[6]["points_after"] == "0.50"
    assert (rows[0]["points_before"], rows[0]["points_after"]) == ("", "")

    answer = ok(callers["inspector"].get(url(AUDIT, format="xlsx", **query)))
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(answer.data), read_only=True)
    try:
        header, *cells = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    assert header == [column.title for column in spreadsheets.audit_rows([])[0]]  # the Vietnamese titles
    cells = [dict(zip(AUDIT_COLUMNS, row, strict=True)) for row in cells]
    assert [row["type"] for row in cells] == [f"{spreadsheets.EVENTS_VI[t]} ({t})" for t in STORY]
    assert all(isinstance(row["position"], int) for row in cells)
    assert isinstance(cells[4]["points_after"], (int, float)) and D(str(cells[4]["points_after"])) == D("0.25")
    assert cells[4]["reason"] == "Văn bản ban hành chậm so với kế hoạch"
    assert cells[0]["points_before"] is None


def test_after_a_write_the_audit_page_includes_that_write(callers):
    open_round(callers)
    answer = ok(callers["officer01"].put(f"{SCORE}/self-assessment", json={"points": "0.50", "note": "Kế hoạch"}))
    written = answer.json["notification_id"]
    page = ok(callers["inspector"].get(url(AUDIT, after=written, cursor=written - 1, limit=1))).json
    assert [(i["position"], i["type"], i["actor"], i["leaf"], i["points_after"]) for i in page["items"]] == [
        (written, "self-scored", "officer01", "2.1.1", "0.50")]
    mine = ok(callers["officer01"].get(url(AUDIT, after=written))).json["items"]
    assert mine[-1]["position"] == written and {i["unit"] for i in mine} == {"01"}
    assert ok(callers["inspector"].get(url(f"{ROUND}/results", after=written))).json["round"] == "2024-province"
    assert ok(callers["inspector"].get(url(f"{ROUND}/disputes", after=written))).json == []


def test_an_after_beyond_the_log_is_refused_at_once_never_a_stale_page(callers):
    open_round(callers)
    started = time.monotonic()
    answer = callers["inspector"].get(url(AUDIT, after=10**9))
    assert (answer.status_code, answer.mimetype, answer.json["type"]) == (422, PROBLEM, "invalid-query")
    assert time.monotonic() - started < 1.5  # not after waiting out the read deadline


def test_the_disputes_endpoint(callers, played):  # noqa: F811
    found = ok(callers["inspector"].get(f"{ROUND}/disputes")).json
    assert len(found) == 1
    dispute = found[0]
    assert {k: dispute[k] for k in ("unit", "leaf", "explanation_id", "state", "requested_points", "decided_points",
                                    "filed_by", "decided_by", "argument", "decision_reason")} == {
        "unit": "01", "leaf": "2.1.1", "explanation_id": "1", "state": "accepted", "requested_points": "0.75",
        "decided_points": "0.50", "filed_by": "officer@01", "decided_by": "member@moj",
        "argument": "Văn bản ban hành đúng hạn theo quyết định số 12", "decision_reason": "Chấp nhận một phần"}
    assert datetime.fromisoformat(dispute["window_closes_at"]) == datetime(2025, 3, 20, tzinfo=ICT)
    assert ok(callers["inspector"].get(f"{ROUND}/disputes?state=open")).json == []
    assert ok(callers["secretariat"].get(f"{ROUND}/disputes?unit=01&state=accepted")).json == found
    assert ok(callers["moj"].get(f"{ROUND}/disputes?unit=79")).json == []
    assert ok(callers["officer01"].get(f"{ROUND}/disputes")).json == found
    assert ok(callers["officer79"].get(f"{ROUND}/disputes")).json == []
    refused(callers["officer79"].get(f"{ROUND}/disputes?unit=01"), 403, "forbidden-scope")
    problem = refused(callers["inspector"].get(f"{ROUND}/disputes?state=pending"), 422, "validation-error")
    assert "state" in problem["errors"]


def test_an_officer_reads_only_their_own_units_audit(callers, played):  # noqa: F811
    problem = refused(callers["officer79"].get(url(AUDIT, unit="01")), 403, "forbidden-scope")
    assert problem["status"] == 403
    own = ok(callers["officer79"].get(url(AUDIT, limit=1000))).json
    assert own["items"] and {i["unit"] for i in own["items"]} == {"79"}
    assert ok(callers["officer79"].get(url(AUDIT, unit="79", limit=1000))).json == own
    views = ok(callers["inspector"].get("/api/v1/views")).json
    assert views["lag"] == 0 and views["position"] == views["head"]
    refused(callers["officer01"].get("/api/v1/views"), 403, "forbidden-role")


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=5000", "limit"), ("limit=ten", "limit"), ("cursor=-1", "cursor"),
    ("since=not-a-date", "since"), ("until=2025-13-01T00:00:00%2B07:00", "until"),
    ("since=2025-01-01T00:00:00", "since"),  # no zone: refused, never guessed
    ("format=pdf", "format"), ("after=-1", "after"),
])
def test_bad_audit_query_values_get_422_validation_problems(callers, query, field):
    problem = refused(callers["inspector"].get(f"{AUDIT}?{query}"), 422, "validation-error")
    assert field in problem["errors"], problem


def test_bad_results_and_disputes_query_values_get_422(callers):
    open_round(callers)
    assert field_errors(callers["inspector"].get(f"{ROUND}/results?format=pdf")) == {"format"}
    assert field_errors(callers["inspector"].get(f"{ROUND}/disputes?after=x")) == {"after"}


def field_errors(answer) -> set[str]:
    return set(refused(answer, 422, "validation-error")["errors"])


def test_the_results_json_kept_between_reads_follows_the_next_write(callers):
    """The JSON is serialized once per position of the views (issue 13); a write moves the position."""
    open_round(callers)
    before = ok(callers["inspector"].get(f"{ROUND}/results")).json
    assert ok(callers["inspector"].get(f"{ROUND}/results")).json == before
    ok(callers["officer01"].put(f"{SCORE}/self-assessment", json={"points": "0.50", "note": ""}))
    after = ok(callers["inspector"].get(f"{ROUND}/results")).json
    index = {u["unit"]["code"]: u["index"] for u in after["units"]}
    assert index["01"] == "0.50" and before != after
    refused(callers["officer01"].get(f"{ROUND}/results"), 403, "forbidden-role")  # not published: still refused
