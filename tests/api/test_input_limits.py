"""Input limits: every class of hostile or oversized input gets a 4xx problem+json, before any work, and records
nothing; the largest real inputs (a whole form, a survey import) still fit."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from api import input_limits as limits
from council.infra import unit_lists
from tests.api.test_scores_api import SCORE, open_round
from tests.builders import WINDOWS

PROBLEM = "application/problem+json"
ROUND = "/api/v1/rounds/2024-province"
UNIT = f"{ROUND}/units/01"
SHA = "a" * 64
SENTENCE = "Kế hoạch cải cách hành chính năm được ban hành đúng hạn, kèm báo cáo. "  # Vietnamese, 71 characters


def prose(characters: int) -> str:
    return (SENTENCE * (characters // len(SENTENCE) + 1))[:characters]


def events(app) -> int:
    return app.test_client().get("/api/v1/health").json["events"]


def assert_problem(answer, status: int, type_: str) -> dict:
    assert (answer.status_code, answer.mimetype) == (status, PROBLEM), answer.get_data(as_text=True)[:500]
    assert answer.json["type"] == type_, answer.json
    return answer.json


def send_json(caller, method: str, url: str, raw: str | bytes, headers: dict[str, str] | None = None):
    """Send a body exactly as written (escapes included), as a client that builds its JSON by hand would."""
    return caller.client.open(url, method=method, data=raw, content_type="application/json",
                              headers=caller.headers(headers))


# One row per text field a client sends: (caller, method, url, body with the field one character too long,
# the field's name in the problem's errors). The answers need no round state: validation comes first.
def too_long(maximum: int) -> str:
    return prose(maximum + 1)


TEXT_CASES = [
    ("officer01", "PUT", f"{SCORE}/self-assessment", {"points": "0.50", "note": too_long(limits.REASON_MAX)}, "note"),
    ("secretariat", "POST", f"{SCORE}/appraisals", {"points": "0.50", "comment": too_long(limits.REASON_MAX)},
     "comment"),
    ("moj", "POST", f"{SCORE}/adjustments", {"points": "0.50", "reason": too_long(limits.REASON_MAX)}, "reason"),
    ("officer01", "POST", f"{SCORE}/explanations", {"argument": too_long(limits.EXPLANATION_MAX)}, "argument"),
    ("moj", "POST", f"{SCORE}/explanations/1/decision", {"accept": False, "reason": too_long(limits.REASON_MAX)},
     "reason"),
    ("officer01", "POST", f"{UNIT}/submission", {"approved_by": too_long(limits.NAME_MAX), "report": {
        "sha256": SHA, "name": "bao-cao.pdf", "media_type": "application/pdf", "size": 10}}, "approved_by"),
    ("officer01", "POST", f"{UNIT}/self-assessment", {"entries": [
        {"leaf": "2.1.1", "points": "0.50", "missing_evidence": too_long(limits.EXPLANATION_MAX)}]},
     "missing_evidence"),
    ("officer01", "POST", f"{UNIT}/self-assessment", {"entries": [
        {"leaf": "2.1.1", "points": "0.50", "evidence": [{"sha256": SHA, "name": too_long(limits.NAME_MAX)}]}]},
     "name"),
    ("officer01", "POST", f"{SCORE}/evidence/by-hash", {"sha256": SHA, "name": "qd.pdf",
                                                        "issuer": too_long(limits.NAME_MAX)}, "issuer"),
    ("officer01", "POST", f"{SCORE}/evidence/by-hash", {"sha256": SHA, "name": "qd.pdf",
                                                        "number": too_long(limits.NAME_MAX)}, "number"),
    ("secretariat", "POST", f"{ROUND}/phase", {"phase": "appraisal", "reason": too_long(limits.REASON_MAX)}, "reason"),
    ("secretariat", "POST", f"{ROUND}/extensions", {"window": "self_assessment", "closes_at": "2025-02-05T00:00:00Z",
                                                    "reason": too_long(limits.REASON_MAX)}, "reason"),
    ("secretariat", "POST", f"{ROUND}/survey-results", {"source": too_long(limits.NAME_MAX), "results": [
        {"unit": "01", "leaf": "1.3.3", "points": "0.20"}]}, "source"),
    ("secretariat", "POST", "/api/v1/rounds", {"year": 2025, "framework": "province-876-2022", "units": [
        {"code": "01", "name": too_long(limits.NAME_MAX)}], "windows": {}}, "name"),
]


@pytest.mark.parametrize(("who", "method", "url", "body", "field"), TEXT_CASES,
                         ids=[f"{case[1]} {case[2].rsplit('/', 1)[-1]} {case[4]}" for case in TEXT_CASES])
def test_text_beyond_its_documented_size_is_refused_and_records_nothing(app, callers, who, method, url, body,
                                                                         field):
    open_round(callers)
    before = events(app)
    caller = callers[who]
    answer = caller.client.open(url, method=method, json=body, headers=caller.headers({"If-Match": '"1"'}))
    errors = json.dumps(assert_problem(answer, 422, "validation-error")["errors"])
    assert f'"{field}"' in errors and "ength" in errors  # "Longer than maximum length", "Length must be between"
    assert events(app) == before


def test_a_reason_in_the_query_is_bounded_too(app, callers):
    open_round(callers)
    before = events(app)
    answer = callers["officer01"].client.delete(f"{SCORE}/evidence/{SHA}?reason={'x' * (limits.REASON_MAX + 1)}",
                                                headers=callers["officer01"].headers())
    assert "reason" in assert_problem(answer, 422, "validation-error")["errors"]
    assert events(app) == before


def test_text_of_exactly_the_documented_size_is_accepted(app, callers):
    open_round(callers)
    note = prose(limits.REASON_MAX)
    answer = callers["officer01"].put(f"{SCORE}/self-assessment", json={"points": "0.50", "note": note})
    assert answer.status_code == 200, answer.json
    history = callers["inspector"].get(f"{SCORE}/history").json
    assert history["events"][-1]["data"]["note"] == note


def form(leaves: list[str], note: int, missing_evidence: int) -> dict:
    return {"entries": [{"leaf": leaf, "points": "0.00", "note": prose(note),
                         "missing_evidence": prose(missing_evidence)} for leaf in leaves]}


def test_a_whole_form_at_every_limit_fits_even_sent_with_escapes(app, callers):
    """Every appraisal leaf with its note and missing-evidence explanation at their limits, the Vietnamese sent
    as \\u escapes (a client's default): one body, one transaction. A form of 100 such entries fits as well."""
    open_round(callers)
    council = app.extensions["par-council"].get().council
    leaves = [leaf.code for leaf in council.framework("2024-province").leaves("appraisal")]
    body = json.dumps(form(leaves, limits.REASON_MAX, limits.EXPLANATION_MAX))  # ensure_ascii: "ế" is "\u1ebf"
    before = events(app)
    answer = send_json(callers["officer01"], "POST", f"{UNIT}/self-assessment", body)
    assert answer.status_code == 201, answer.get_data(as_text=True)[:500]
    assert len(answer.json) >= 2 * len(leaves) and events(app) > before
    hundred = json.dumps(form([f"{n}.1.1" for n in range(100)], limits.REASON_MAX, limits.EXPLANATION_MAX))
    assert len(hundred.encode()) < limits.MAX_BODY_BYTES


def test_a_survey_import_of_63_units_fits(app, callers, clock):
    council = app.extensions["par-council"].get().council
    provinces = [{"code": unit["code"], "name": unit["name"]} for unit in unit_lists.load("provinces-2012-2025")]
    assert len(provinces) == 63
    body = {"year": 2024, "framework": "province-876-2022", "units": provinces, "windows": {
        name: {k: v.isoformat() for k, v in window.items()} for name, window in WINDOWS.items()}}
    assert callers["secretariat"].post("/api/v1/rounds", json=body).status_code == 201
    clock.set(2025, 2, 10, 9)
    assert callers["secretariat"].post(f"{ROUND}/phase", json={"phase": "appraisal"}).status_code == 201
    survey = [leaf.code for leaf in council.framework("2024-province").leaves("survey")]
    rows = [{"unit": unit["code"], "leaf": leaf, "points": "0.00"} for unit in provinces for leaf in survey]
    answer = callers["secretariat"].post(f"{ROUND}/survey-results", json={"source": "Điều tra xã hội học 2024",
                                                                            "results": rows})
    assert answer.status_code == 201 and sum(r["type"] == "survey-scored" for r in answer.json) == 63 * len(survey)
    thirty_two = [{"unit": unit["code"], "leaf": f"8.{n}.1", "points": "0.00"} for unit in provinces for n in range(32)]
    assert len(json.dumps({"source": "x", "results": thirty_two})) < limits.MAX_BODY_BYTES / 10
    assert len(thirty_two) <= limits.SURVEY_ROWS_MAX


class Unreadable(io.RawIOBase):
    """A 10 MB request body that must never be read: reading it waits 10 s, as a slow upload would."""

    def __init__(self) -> None:
        self.touched = threading.Event()
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:  # the test client measures the body
        self.position = offset + (10 * 2**20 if whence == io.SEEK_END else 0)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        self.touched.set()
        time.sleep(10)
        return 0


def test_two_10_mb_bodies_at_once_are_refused_at_once_and_no_write_waits(app, callers):
    open_round(callers)
    before = events(app)
    officer = callers["officer01"]
    bodies = [Unreadable(), Unreadable()]
    answers: list = [None, None]

    def send(n: int) -> None:
        answers[n] = app.test_client().put(
            f"{SCORE}/self-assessment", input_stream=bodies[n], content_type="application/json",
            headers=officer.headers())

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    written = officer.put(f"{SCORE}/self-assessment", json={"points": "0.50"})
    for thread in threads:
        thread.join(timeout=5)
    assert time.monotonic() - started < 3
    assert written.status_code == 200
    for answer, body in zip(answers, bodies, strict=True):
        assert "10485760" in assert_problem(answer, 413, "payload-too-large")["detail"]
        assert not body.touched.is_set()
    assert events(app) == before + 2  # the small write only: the score's creation and its self-score


def test_a_body_without_content_length_is_read_no_further_than_the_limit(app, callers):
    open_round(callers)
    before = events(app)
    big = io.BytesIO(b'{"points": "0.50", "note": "' + b"x" * (limits.MAX_BODY_BYTES + 10) + b'"}')
    answer = app.test_client().put(f"{SCORE}/self-assessment", input_stream=big, content_type="application/json",
                                   headers=callers["officer01"].headers({"Transfer-Encoding": "chunked"}),
                                   environ_overrides={"wsgi.input_terminated": True})
    assert_problem(answer, 413, "payload-too-large")
    assert big.tell() <= limits.MAX_BODY_BYTES + 2**16
    assert events(app) == before


@pytest.mark.parametrize("depth", [limits.MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_refused(app, callers, depth):
    open_round(callers)
    before = events(app)
    raw = '{"points": "0.50", "note": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    answer = send_json(callers["officer01"], "PUT", f"{SCORE}/self-assessment", raw)
    assert_problem(answer, 400, "json-too-deep")
    assert events(app) == before


def test_json_as_deep_as_the_limit_reaches_the_schema(app, callers):
    open_round(callers)
    raw = '{"points": "0.50", "note": ' + "[" * (limits.MAX_JSON_DEPTH - 1) + "]" * (limits.MAX_JSON_DEPTH - 1) + "}"
    answer = send_json(callers["officer01"], "PUT", f"{SCORE}/self-assessment", raw)
    assert "note" in assert_problem(answer, 422, "validation-error")["errors"]


SURROGATES = [
    ("PUT", f"{SCORE}/self-assessment", r'{"points": "0.50", "note": "\ud800"}'),
    ("PUT", f"{SCORE}/self-assessment", r'{"points": "0.50", "note": "trước \udfff sau"}'),
    ("PUT", f"{SCORE}/self-assessment", r'{"points": "0.50", "note": "\ude00\ud83d"}'),  # a pair in the wrong order
    ("PUT", f"{SCORE}/self-assessment", r'{"points": "0.50", "\ud800": "x"}'),  # in a key, which 422 would echo
    ("PUT", f"{SCORE}/self-assessment", r'{"points": "0.50", "note": "NUL \u0000 inside"}'),
    ("POST", f"{UNIT}/self-assessment", r'{"entries": [{"leaf": "2.1.1", "points": "0.50", '
                                        r'"evidence": [{"sha256": "' + SHA + r'", "name": "q\ud800.pdf"}]}]}'),
    ("POST", "/api/v1/receipts/verify", r'{"stream": "\ud800", "version": 1, "event_hash": "x"}'),
]


@pytest.mark.parametrize(("method", "url", "raw"), SURROGATES)
def test_unpaired_surrogates_and_nul_in_a_body_are_refused(app, callers, method, url, raw):
    open_round(callers)
    before = events(app)
    answer = send_json(callers["officer01"], method, url, raw)
    assert_problem(answer, 400, "invalid-characters")
    assert events(app) == before


def test_a_paired_surrogate_is_a_character_like_any_other(app, callers):
    open_round(callers)
    answer = send_json(callers["officer01"], "PUT", f"{SCORE}/self-assessment",
                       r'{"points": "0.50", "note": "đúng hạn \ud83d\ude00"}')
    assert answer.status_code == 200, answer.json
    assert callers["officer01"].get(SCORE).json["self_points"] == "0.50"


def test_bytes_that_are_not_utf_8_are_malformed_json(app, callers):
    open_round(callers)
    before = events(app)
    raw = b'{"points": "0.50", "note": "\xed\xa0\x80"}'  # a surrogate encoded as UTF-8: not UTF-8
    assert_problem(send_json(callers["officer01"], "PUT", f"{SCORE}/self-assessment", raw), 400, "malformed-json")
    assert events(app) == before


def test_nul_in_a_multipart_form_field_is_refused(app, callers):
    open_round(callers)
    before = events(app)
    officer = callers["officer01"]
    answer = officer.client.post(f"{SCORE}/evidence", headers=officer.headers(), content_type="multipart/form-data",
                                 data={"file": (io.BytesIO(b"%PDF-1.7\n" + b"x" * 100), "qd.pdf", "application/pdf"),
                                       "number": "12/QĐ\x00-UBND", "issuer": "UBND"})
    assert "number" in assert_problem(answer, 422, "validation-error")["errors"]
    assert events(app) == before


@pytest.mark.parametrize("url", [
    f"{SCORE}/evidence/{SHA}?reason=a%00b",
    "/api/v1/audit?actor=%00",
    f"{ROUND}%00/results",
])
def test_nul_in_the_query_or_the_path_is_refused(app, callers, url):
    open_round(callers)
    before = events(app)
    caller = callers["secretariat"]
    answer = caller.client.open(url, method="DELETE" if "evidence" in url else "GET", headers=caller.headers())
    assert_problem(answer, 400, "invalid-characters")
    assert events(app) == before


BAD_POINTS = [
    "-0", "-0.00", "-0.01", "1E-2", "1e0", "+0.30", " 0.30", "0.30 ", "0.30\n", "\t0.5", "0_3", "0,30",
    "٠.٣٠", "۰.۵", "０.３０", "0.５", "1" * 400, "0." + "0" * 400, "1000", "0.001", "1.000", ".5", "5.", "",
    "NaN", "Infinity", "-Infinity", "sNaN", "0x1", "½", "0.5.0", 0.5, 1, True, None, ["0.50"], {"value": "0.50"},
]


@pytest.mark.parametrize("points", BAD_POINTS, ids=repr)
def test_points_other_than_ascii_decimals_with_two_places_are_refused(app, callers, points):
    open_round(callers)
    before = events(app)
    answer = callers["officer01"].put(f"{SCORE}/self-assessment", json={"points": points})
    assert "points" in assert_problem(answer, 422, "validation-error")["errors"]
    assert events(app) == before


@pytest.mark.parametrize(("points", "stored"), [("0", "0.00"), ("0.5", "0.50"), ("0.50", "0.50"), ("000.25", "0.25")])
def test_ascii_points_are_kept_exactly(app, callers, points, stored):
    open_round(callers)
    answer = callers["officer01"].put(f"{SCORE}/self-assessment", json={"points": points})
    assert answer.status_code == 200, answer.json
    assert callers["officer01"].get(SCORE).json["self_points"] == stored


BAD_INTEGERS = [2**53, 2**63, 2**64, 10**30, -1, 0, 1.5, 1.0, True, "1.5", "٣", " 1", "1_0", "9" * 40]


@pytest.mark.parametrize("version", BAD_INTEGERS, ids=repr)
def test_receipt_versions_are_range_checked(app, callers, version):
    before = events(app)
    answer = callers["inspector"].post("/api/v1/receipts/verify", json={
        "stream": str(uuid.uuid4()), "version": version, "event_hash": SHA})
    assert "version" in assert_problem(answer, 422, "validation-error")["errors"]
    assert events(app) == before


def test_the_largest_receipt_version_is_looked_up_without_overflow(app, callers):
    answer = callers["inspector"].post("/api/v1/receipts/verify", json={
        "stream": str(uuid.uuid4()), "version": limits.INTEGER_MAX, "event_hash": SHA})
    assert answer.status_code == 200 and answer.json["valid"] is False


@pytest.mark.parametrize("query", [
    f"cursor={2**63}", f"cursor={2**53}", "cursor=-1", "cursor=١٢", "cursor=1e3", f"after={2**64}",
    "limit=0", "limit=1001", f"cursor={'9' * 5000}",
])
def test_audit_cursors_and_positions_are_range_checked(app, callers, query):
    before = events(app)
    answer = callers["inspector"].get(f"/api/v1/audit?{query}")
    name = query.split("=")[0]
    assert name in assert_problem(answer, 422, "validation-error")["errors"]
    assert events(app) == before


def test_the_largest_cursor_reads_an_empty_page(app, callers):
    answer = callers["inspector"].get(f"/api/v1/audit?cursor={limits.INTEGER_MAX}")
    assert answer.status_code == 200 and answer.json["items"] == []


def test_history_versions_are_range_checked(app, callers):
    open_round(callers)
    answer = callers["inspector"].get(f"{SCORE}/history?version={2**63}")
    assert "version" in assert_problem(answer, 422, "validation-error")["errors"]


@pytest.mark.parametrize("if_match", ['"²"', "²", '"¹"', '"' + "9" * 5000 + '"', "*", '"1 "'])
def test_an_if_match_that_is_not_an_ascii_version_is_refused(app, callers, clock, if_match):
    open_round(callers)
    assert callers["officer01"].put(f"{SCORE}/self-assessment", json={"points": "0.75"}).status_code == 200
    clock.set(2025, 2, 10, 9)
    assert callers["secretariat"].post(f"{ROUND}/phase", json={"phase": "appraisal"}).status_code == 201
    before = events(app)
    answer = callers["secretariat"].client.post(
        f"{SCORE}/appraisals", json={"points": "0.50"},
        headers={**callers["secretariat"].headers(), "If-Match": if_match})  # "²" is one latin-1 byte, 0xB2
    assert_problem(answer, 412, "precondition-failed")
    assert events(app) == before


def test_a_huge_integer_in_a_body_is_malformed_not_a_crash(app, callers):
    before = events(app)
    raw = '{"stream": "' + str(uuid.uuid4()) + '", "version": ' + "9" * 5000 + ', "event_hash": "' + SHA + '"}'
    assert_problem(send_json(callers["inspector"], "POST", "/api/v1/receipts/verify", raw), 400, "malformed-json")
    assert events(app) == before


def test_the_limits_are_in_the_openapi_document(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert schemas["SelfScore"]["properties"]["note"]["maxLength"] == limits.REASON_MAX
    assert schemas["Explanation"]["properties"]["argument"]["maxLength"] == limits.EXPLANATION_MAX
    assert schemas["FormEntry"]["properties"]["missing_evidence"]["maxLength"] == limits.EXPLANATION_MAX
    assert schemas["Submission"]["properties"]["approved_by"]["maxLength"] == limits.NAME_MAX
    assert schemas["SurveyImport"]["properties"]["results"]["maxItems"] == limits.SURVEY_ROWS_MAX
    points = schemas["SelfScore"]["properties"]["points"]
    assert (points["type"], points["format"]) == ("string", "decimal")
    assert points["pattern"] == r"^[0-9]{1,3}(\.[0-9]{1,2})?$"
    assert schemas["ReceiptCheck"]["properties"]["version"]["maximum"] == 2**53 - 1
    audit = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/audit"]["get"]["parameters"]}
    assert (audit["cursor"]["minimum"], audit["cursor"]["maximum"]) == (0, 2**53 - 1)


def nesting(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    return 0


TRICKY_TEXT = st.text(alphabet='[]{}"\\/,:u0 ếa\n', max_size=12)
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
                           max_leaves=40)


@given(JSON_VALUES, st.booleans(), st.integers(min_value=0, max_value=12))
def test_the_depth_check_agrees_with_the_parsed_document(value, ascii_only, limit):
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert limits.json_depth_exceeds(body, limit) == (nesting(value) > limit)


def strings_of(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)
    elif isinstance(value, str):
        yield value


HOSTILE_TEXT = st.lists(st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "😀", "\\", "u0000",
                                         "ud800", "a"]), max_size=6).map("".join)
HOSTILE_VALUES = st.recursive(st.integers() | HOSTILE_TEXT,
                              lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner,
                                                                                          max_size=3), max_leaves=12)


@settings(max_examples=500)
@given(HOSTILE_VALUES)
@example(["\\u0000"]).via("a backslash, then the text u0000")
@example(["\\\x00"]).via("a backslash, then U+0000")
@example(["\\ud800"]).via("a backslash, then the text ud800")
@example({"\ud800": 1}).via("a surrogate in a key")
@example(["\ud83d\ude00"]).via("a pair")
def test_the_text_check_agrees_with_the_parsed_document(value):
    body = json.dumps(value).encode()  # ensure_ascii: NUL and surrogates travel as \u escapes
    document = json.loads(body)
    unstorable = any(ch == "\x00" or "\ud800" <= ch <= "\udfff" for text in strings_of(document) for ch in text)
    assert limits.json_text_storable(body, document) is not unstorable
