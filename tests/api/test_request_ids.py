"""X-Request-ID: kept when well-formed, made otherwise; carried by the answer, the problem body, the recorded
events and the audit trail (the access log is checked through gunicorn, in tests/e2e/test_http_round.py)."""

from __future__ import annotations

import pytest

from tests.api.test_scores_api import SCORE, open_round

LEAF_HISTORY = f"{SCORE}/history"


def self_score(callers, headers: dict[str, str]):
    return callers["officer01"].put(f"{SCORE}/self-assessment", json={"points": "0.50"}, headers=headers)


def audit_of(callers, request_id: str) -> list[dict]:
    answer = callers["inspector"].get(f"/api/v1/audit?request_id={request_id}")
    assert answer.status_code == 200, answer.json
    return answer.json["items"]


@pytest.mark.parametrize("sent", ["abc-123", None])
def test_a_writes_request_id_is_in_the_answer_the_event_and_the_audit_trail(callers, sent):
    open_round(callers)
    answer = self_score(callers, {"X-Request-ID": sent} if sent else {})
    assert answer.status_code == 200, answer.json
    request_id = answer.headers["X-Request-ID"]
    assert request_id == sent if sent else len(request_id) == 32
    assert answer.json["request_id"] == request_id
    events = callers["inspector"].get(LEAF_HISTORY).json["events"]
    assert [e["request_id"] for e in events] == [request_id, request_id]  # opened, self-scored: one request
    trail = audit_of(callers, request_id)
    assert [(row["leaf"], row["type"]) for row in trail] == [("2.1.1", "opened"), ("2.1.1", "self-scored")]
    assert {row["request_id"] for row in trail} == {request_id}


def test_each_request_without_an_id_gets_its_own(callers):
    open_round(callers)
    first, second = self_score(callers, {}), self_score(callers, {})
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert [row["type"] for row in audit_of(callers, second.headers["X-Request-ID"])] == ["self-scored"]


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "ü-nicode", "-leading-dash", "semi;colon"])
def test_a_malformed_incoming_id_is_replaced_not_recorded(callers, bad):
    open_round(callers)
    answer = self_score(callers, {"X-Request-ID": bad})
    assert answer.status_code == 200
    made = answer.headers["X-Request-ID"]
    assert made != bad and len(made) == 32 and answer.json["request_id"] == made


def test_a_refusal_names_its_request_id_in_the_problem_body_and_header(callers):
    answer = callers["officer79"].put(f"{SCORE}/self-assessment", json={"points": "0.50"},
                                      headers={"X-Request-ID": "support-ticket-42"})
    assert answer.status_code in (403, 404)
    assert answer.mimetype == "application/problem+json"
    assert answer.json["request_id"] == answer.headers["X-Request-ID"] == "support-ticket-42"


def test_reads_and_health_answer_with_a_request_id_too(app, callers):
    assert app.test_client().get("/api/v1/health", headers={"X-Request-ID": "probe-1"}).headers["X-Request-ID"] == \
        "probe-1"
    assert len(callers["inspector"].get("/api/v1/audit").headers["X-Request-ID"]) == 32
