"""The end of a round over HTTP: meeting, approval and announcement answer 201 receipts and publish the round; bad
input and steps out of order get their problem+json and record nothing."""

from __future__ import annotations

from tests.builders import SECRETARIAT, open_round

ROUND = "/api/v1/rounds/2024-province"
PROBLEM = "application/problem+json"
MEETING = {"held_on": "2025-03-26", "members": ["Nguyễn Văn Hùng", "Trần Thị Thu Hà"],
           "minutes": "Biên bản số 12/BB-HĐTĐ"}


def finalized(app, clock) -> None:
    council = app.extensions["par-council"].get().council
    key = open_round(council)
    for when, phases in (((2025, 2, 10, 9), ("appraisal",)), ((2025, 3, 12, 9), ("explanation",)),
                         ((2025, 3, 21, 9), ("council_review", "finalized"))):
        clock.set(*when)
        for phase in phases:
            council.advance_phase(key, phase, SECRETARIAT)
    clock.set(2025, 4, 6, 9)


def events(app) -> int:
    return app.extensions["par-council"].get().council.recorder.max_notification_id() or 0


def test_the_three_steps_answer_201_receipts_and_the_round_is_published(app, callers, clock):
    finalized(app, clock)
    secretariat = callers["secretariat"]
    for path, body, type_ in (("meeting", MEETING, "council-meeting-held"),
                              ("approval", {"number": "268/QĐ-BNV", "decided_on": "2025-03-28"}, "results-approved"),
                              ("announcement", {"announced_on": "2025-04-06"}, "results-announced")):
        answer = secretariat.post(f"{ROUND}/{path}", json=body)
        assert (answer.status_code, answer.json["type"]) == (201, type_), answer.json
        assert answer.json["signature"] and answer.json["notification_id"] == events(app)
    shown = secretariat.get(ROUND).json
    assert shown["phase"] == "published"
    assert (shown["meeting"], shown["approval"], shown["announcement"]) == (
        MEETING, {"number": "268/QĐ-BNV", "decided_on": "2025-03-28"}, {"announced_on": "2025-04-06"})
    assert callers["officer01"].get(f"{ROUND}/results").status_code == 200


def test_bad_input_and_steps_out_of_order_get_problems_and_record_nothing(app, callers, clock):
    finalized(app, clock)
    secretariat = callers["secretariat"]
    assert secretariat.get(ROUND).json["meeting"] is None
    before = events(app)
    cases = [
        ("meeting", {**MEETING, "members": []}, 422, "validation-error", "members"),
        ("meeting", {**MEETING, "held_on": "26/03/2025"}, 422, "validation-error", "held_on"),
        ("meeting", {key: value for key, value in MEETING.items() if key != "minutes"}, 422, "validation-error",
         "minutes"),
        ("meeting", {**MEETING, "members": ["Nguyễn Văn Hùng", "  "]}, 422, "invalid-step", None),
        ("meeting", {**MEETING, "held_on": "2025-04-07"}, 422, "step-date", None),
        ("approval", {"number": "268/QĐ-BNV", "decided_on": "2025-03-28"}, 409, "step-out-of-order", None),
        ("announcement", {"announced_on": "2025-04-06T09:00:00+07:00"}, 422, "validation-error", "announced_on"),
        ("announcement", {"announced_on": "2025-04-06"}, 409, "step-out-of-order", None),
        ("phase", {"phase": "published"}, 409, "published-by-announcement", None),
    ]
    for path, body, status, type_, field in cases:
        answer = secretariat.post(f"{ROUND}/{path}", json=body)
        assert (answer.status_code, answer.mimetype, answer.json["type"]) == (status, PROBLEM, type_), (path, body)
        if field:
            assert field in answer.json["errors"]
    assert events(app) == before
    assert secretariat.post(f"{ROUND}/meeting", json=MEETING).status_code == 201
    again = secretariat.post(f"{ROUND}/meeting", json={**MEETING, "minutes": "Biên bản số 13/BB-HĐTĐ"})
    assert (again.status_code, again.mimetype, again.json["type"]) == (409, PROBLEM, "step-already-recorded")
    early = secretariat.post(f"{ROUND}/approval", json={"number": "268/QĐ-BNV", "decided_on": "2025-03-25"})
    assert (early.status_code, early.json["type"], early.json["previous"]) == (422, "step-date", "2025-03-26")
    denied = callers["moha"].post(f"{ROUND}/approval", json={"number": "268/QĐ-BNV", "decided_on": "2025-03-28"})
    assert (denied.status_code, denied.json["type"]) == (403, "forbidden-role")
    assert secretariat.get(ROUND).json["approval"] is None
