"""Windows bind the Secretariat too, through the services on SQLite and on PostgreSQL: a phase change that would
cut a unit's window short is refused and records nothing unless it says why; silence is acceptance only after
the unit's own close; the council decides in council review; extensions never overlap or reopen a finished round."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from api import create_app
from council import bootstrap
from council.services.appraisal_service import Decision, ExplanationReport
from council.services.principal_service import Scope
from council.services.publication_service import Approval, Meeting
from council.services.round_service import Extension
from domain.base import event_type, reason_of
from domain.errors import (
    RoundFinishedError,
    WindowOpenError,
    WindowOverError,
    WindowsOverlapError,
    WrongPhaseError,
)
from domain.ids import round_id, score_id
from domain.score import SILENCE
from domain.values import Actor, Role, ScoreAddress
from tests.builders import ICT, MOJ_MEMBER, SECRETARIAT, officer, open_round

LEAF = "2.1.1"
EARLY = "Tất cả các tỉnh đã gửi báo cáo giải trình; Hội đồng họp sớm theo chỉ đạo của Bộ trưởng"


def log_size(council) -> int:
    return council.recorder.max_notification_id() or 0


def explanation_phase(council, clock) -> str:
    """A round in its explanation phase on 12 March, the window open until 20 March (exclusive)."""
    key = open_round(council)
    for unit in ("01", "79"):
        council.self_score(ScoreAddress(key, unit, LEAF), "0.75", officer(unit))
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    clock.set(2025, 3, 12, 9)
    council.advance_phase(key, "explanation", SECRETARIAT)
    return key


def acceptances(council, key: str, unit: str) -> list[str]:
    """The reason of every preliminary-accepted event on the unit's appraisal leaves."""
    return [reason_of(event) for leaf in council.framework(key).leaves("appraisal")
            for event in council.events.get(score_id(key, unit, leaf.code))
            if event_type(event) == "preliminary-accepted"]


def last_round_event(council, key: str):
    return list(council.events.get(round_id(key)))[-1]


def test_appraisal_inside_the_self_assessment_window_is_refused_records_nothing_and_units_keep_writing(council):
    key = open_round(council)
    before = log_size(council)
    with pytest.raises(WindowOpenError) as refused:
        council.advance_phase(key, "appraisal", SECRETARIAT)
    assert (refused.value.status, refused.value.details["units"]) == (409, ["01", "79", "48"])
    assert (log_size(council), council.round(key)["phase"]) == (before, "self_assessment")
    assert council.self_score(ScoreAddress(key, "01", LEAF), "0.50", officer("01")).type == "self-scored"


def test_a_phase_change_with_a_reason_cuts_the_window_short_and_records_that_reason(council):
    key = open_round(council)
    receipt = council.advance_phase(key, "appraisal", SECRETARIAT, reason="Thẩm định sớm theo chỉ đạo")
    assert receipt.type == "phase-advanced"
    assert reason_of(last_round_event(council, key)) == "Thẩm định sớm theo chỉ đạo"
    with pytest.raises(WrongPhaseError):
        council.self_score(ScoreAddress(key, "01", LEAF), "0.50", officer("01"))


def test_council_review_inside_the_explanation_window_is_refused_and_accepts_nothing(council, clock):
    key = explanation_phase(council, clock)
    before = log_size(council)
    with pytest.raises(WindowOpenError) as refused:
        council.advance_phase(key, "council_review", SECRETARIAT)
    assert refused.value.details["window"] == "explanation"
    assert log_size(council) == before
    assert [acceptances(council, key, unit) for unit in ("01", "79", "48")] == [[], [], []]
    clock.set(2025, 3, 19, 23, 59)  # a minute before the close: the unit is still heard
    filed, _ = council.file_explanation(ScoreAddress(key, "01", LEAF), ExplanationReport("Đã ban hành đúng hạn"),
                                        officer("01"))
    assert filed == "1"


def test_an_early_close_records_the_secretariats_reason_on_every_acceptance_never_silence(council, clock):
    key = explanation_phase(council, clock)
    clock.set(2025, 3, 15, 9)
    council.advance_phase(key, "council_review", SECRETARIAT, reason=EARLY)
    assert reason_of(last_round_event(council, key)) == EARLY
    leaves = len(council.framework(key).leaves("appraisal"))
    for unit in ("01", "79", "48"):
        reasons = acceptances(council, key, unit)
        assert len(reasons) == leaves
        assert all(SILENCE not in r and r.startswith("explanation window closed early by the Secretariat")
                   and r.endswith(EARLY) for r in reasons)


def test_silence_waits_for_a_units_extension_and_then_is_silence(council, clock):
    key = explanation_phase(council, clock)
    extended = datetime(2025, 3, 25, tzinfo=ICT)
    council.extend_window(key, Extension("explanation", extended, "Bão số 3", unit="79"), SECRETARIAT)
    leaves = len(council.framework(key).leaves("appraisal"))
    clock.set(2025, 3, 21, 9)
    with pytest.raises(WindowOpenError) as refused:
        council.advance_phase(key, "council_review", SECRETARIAT, reason="  ")
    assert refused.value.details == {"window": "explanation", "closes_at": extended.isoformat(), "units": ["79"]}
    assert council.close_explanation_window(key, SECRETARIAT) == 2 * leaves  # 01 and 48; 79 is still heard
    assert acceptances(council, key, "79") == []
    council.file_explanation(ScoreAddress(key, "79", LEAF), ExplanationReport("Đã ban hành đúng hạn"), officer("79"))
    clock.set(2025, 3, 25, 0, 0)
    council.advance_phase(key, "council_review", SECRETARIAT)
    assert acceptances(council, key, "01") == [SILENCE] * leaves
    assert acceptances(council, key, "79") == [SILENCE] * (leaves - 1)


def test_an_early_close_for_one_extended_unit_names_the_early_close_for_that_unit_only(council, clock):
    key = explanation_phase(council, clock)
    council.extend_window(key, Extension("explanation", datetime(2025, 3, 25, tzinfo=ICT), "Bão số 3", unit="79"),
                          SECRETARIAT)
    clock.set(2025, 3, 21, 9)
    council.advance_phase(key, "council_review", SECRETARIAT, reason=EARLY)
    leaves = len(council.framework(key).leaves("appraisal"))
    assert acceptances(council, key, "01") == [SILENCE] * leaves
    early = acceptances(council, key, "79")
    assert len(early) == leaves and all(r.endswith(EARLY) and "2025-03-25" in r for r in early)


def test_the_council_decides_explanations_in_council_review_only(council, clock):
    key = explanation_phase(council, clock)
    at = ScoreAddress(key, "01", LEAF)
    council.file_explanation(at, ExplanationReport("Đã ban hành đúng hạn", "0.75"), officer("01"))
    before = log_size(council)
    with pytest.raises(WrongPhaseError):
        council.decide_explanation(at, "1", Decision(True, "Hợp lệ", "0.75"), council.score(at)["version"],
                                   MOJ_MEMBER)
    assert log_size(council) == before
    clock.set(2025, 3, 21, 9)
    council.advance_phase(key, "council_review", SECRETARIAT)
    receipt = council.decide_explanation(at, "1", Decision(True, "Hợp lệ", "0.75"), council.score(at)["version"],
                                         MOJ_MEMBER)
    assert receipt.type == "explanation-accepted"


def test_extensions_never_overlap_the_windows_nor_reopen_a_finished_round(council, clock):
    key = open_round(council)
    before = log_size(council)
    with pytest.raises(WindowsOverlapError):
        council.extend_window(key, Extension("self_assessment", datetime(2025, 3, 11, tzinfo=ICT), "Bão", unit="01"),
                              SECRETARIAT)
    assert log_size(council) == before
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    with pytest.raises(WindowOverError):
        council.extend_window(key, Extension("self_assessment", datetime(2025, 2, 20, tzinfo=ICT), "Bão"),
                              SECRETARIAT)
    clock.set(2025, 3, 12, 9)
    council.advance_phase(key, "explanation", SECRETARIAT)
    clock.set(2025, 3, 21, 9)
    for phase in ("council_review", "finalized"):
        council.advance_phase(key, phase, SECRETARIAT)
    council.record_council_meeting(key, Meeting(date(2025, 3, 21), ("Nguyễn Văn Hùng",), "Biên bản số 12/BB-HĐTĐ"),
                                   SECRETARIAT)
    council.record_approval(key, Approval("268/QĐ-BNV", date(2025, 3, 21)), SECRETARIAT)
    council.announce(key, date(2025, 3, 21), SECRETARIAT)
    assert council.round(key)["phase"] == "published"
    before = log_size(council)
    for window in ("explanation", "self_assessment"):
        with pytest.raises(RoundFinishedError):
            council.extend_window(key, Extension(window, datetime(2025, 5, 1, tzinfo=ICT), "Khiếu nại", unit="01"),
                                  SECRETARIAT)
    assert log_size(council) == before
    assert council.round(key)["extensions"] == []


def test_over_http_the_refusal_is_a_409_window_open_problem_and_the_reason_goes_through(settings, env, clock):
    bootstrap.init_db(settings)
    app = create_app({"TESTING": True, "COUNCIL_ENV": env, "COUNCIL_CLOCK": clock})
    try:
        council = app.extensions["par-council"].get().council
        open_round(council)
        token = council.add_principal("thuky", "secretariat", Actor(id="cli:test", role=Role.ADMIN), Scope())[1]
        client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
        url = "/api/v1/rounds/2024-province/phase"
        refused = client.post(url, json={"phase": "appraisal"}, headers=headers)
        assert (refused.status_code, refused.mimetype) == (409, "application/problem+json")
        assert (refused.json["type"], refused.json["units"]) == ("window-open", ["01", "79", "48"])
        done = client.post(url, json={"phase": "appraisal", "reason": "Thẩm định sớm"}, headers=headers)
        assert (done.status_code, done.json["type"]) == (201, "phase-advanced")
        assert reason_of(last_round_event(council, "2024-province")) == "Thẩm định sớm"
    finally:
        app.extensions["par-council"].close()
