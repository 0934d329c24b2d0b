"""The score endpoints over HTTP: tokens, validation, If-Match, problem+json, and nothing recorded on refusal."""

from __future__ import annotations

from tests.builders import WINDOWS

SCORE = "/api/v1/rounds/2024-province/units/01/scores/2.1.1"
PROBLEM = "application/problem+json"


def open_round(callers) -> None:
    body = {"year": 2024, "framework": "province-876-2022", "windows": {
        name: {k: v.isoformat() for k, v in window.items()} for name, window in WINDOWS.items()},
        "units": [{"code": "01", "name": "Hà Nội"}, {"code": "79", "name": "TP Hồ Chí Minh"}]}
    answer = callers["secretariat"].post("/api/v1/rounds", json=body)
    assert answer.status_code == 201, answer.json


def test_requests_without_a_valid_token_get_401_problems(app, callers):
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        answer = client.get("/api/v1/rounds/2024-province", headers=headers)
        assert (answer.status_code, answer.mimetype, answer.json["type"]) == (401, PROBLEM, "unauthorized")
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_health_and_the_openapi_document_need_no_token(app, callers):
    client = app.test_client()
    health = client.get("/api/v1/health").json
    assert (health["status"], health["database"], health["backend"]) == ("ok", "ok", "sqlite")
    assert health["events"] == 2 * len(callers)  # a principal and its token index each: read from the log
    assert health["projection_lag"] == health["events"]  # nothing has read the views yet
    open_round(callers)
    assert client.get("/api/v1/health").json["events"] == 2 * len(callers) + 1
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.") and "/api/v1/rounds/{round_key}/units/{unit}/scores/{leaf}" in spec["paths"]


def test_a_unit_officer_cannot_open_a_round(callers):
    answer = callers["officer01"].post("/api/v1/rounds", json={
        "year": 2024, "framework": "province-876-2022", "units": [{"code": "01", "name": "Hà Nội"}],
        "windows": {n: {k: v.isoformat() for k, v in w.items()} for n, w in WINDOWS.items()}})
    assert (answer.status_code, answer.json["type"]) == (403, "forbidden-role")


def test_bad_self_scores_get_their_4xx_problem_and_record_nothing(callers):
    open_round(callers)
    officer = callers["officer01"]
    cases = [
        ({"points": "0.125"}, 422, "validation-error", "points"),
        ({"points": 0.5}, 422, "validation-error", "points"),
        ({"points": "0.50", "colour": "red"}, 422, "validation-error", "colour"),
        ({}, 422, "validation-error", "points"),
        ({"points": "9.00"}, 422, "points-out-of-range", None),
    ]
    for body, status, type_, field in cases:
        answer = officer.put(f"{SCORE}/self-assessment", json=body)
        assert (answer.status_code, answer.mimetype, answer.json["type"]) == (status, PROBLEM, type_), body
        if field:
            assert field in answer.json["errors"]
    malformed = officer.put(f"{SCORE}/self-assessment", data="{points: 1", content_type="application/json")
    assert (malformed.status_code, malformed.json["type"]) == (400, "malformed-json")
    assert officer.get(SCORE).status_code == 404


def test_an_officer_writing_another_units_score_gets_403(callers):
    open_round(callers)
    answer = callers["officer79"].put(f"{SCORE}/self-assessment", json={"points": "0.50"})
    assert (answer.status_code, answer.json["type"]) == (403, "forbidden-scope")


def test_council_adjustments_need_if_match_and_a_stale_one_gets_the_current_version(callers, clock):
    open_round(callers)
    assert callers["officer01"].put(f"{SCORE}/self-assessment", json={"points": "0.75"}).status_code == 200
    clock.set(2025, 2, 10, 9)
    advance = callers["secretariat"].post("/api/v1/rounds/2024-province/phase", json={"phase": "appraisal"})
    assert advance.status_code == 201
    read = callers["moj"].get(SCORE)
    assert read.headers["ETag"] == '"2"'
    body = {"points": "0.25", "reason": "Ban hành chậm"}
    missing = callers["moj"].post(f"{SCORE}/adjustments", json=body)
    assert (missing.status_code, missing.json["type"]) == (428, "precondition-required")
    stale = callers["moj"].post(f"{SCORE}/adjustments", json=body, headers={"If-Match": '"1"'})
    assert (stale.status_code, stale.json["type"], stale.json["current_version"]) == (409, "version-conflict", 2)
    outside = callers["moha"].post(f"{SCORE}/adjustments", json=body, headers={"If-Match": '"2"'})
    assert (outside.status_code, outside.json["type"]) == (403, "forbidden-scope")
    done = callers["moj"].post(f"{SCORE}/adjustments", json=body, headers={"If-Match": read.headers["ETag"]})
    assert (done.status_code, done.json["version"], done.json["type"]) == (201, 3, "council-adjusted")
    assert len(done.json["event_hash"]) == 64
    history = callers["inspector"].get(f"{SCORE}/history").json
    assert [e["type"] for e in history["events"]][-1] == "council-adjusted"
    assert history["events"][-1]["points_before"] == "0.75" and history["verified"] is True
    assert callers["inspector"].get(f"{SCORE}/history?version=2").json["state"]["points"] == "0.75"
