"""The end of a round, through the services on SQLite and on PostgreSQL: the Appraisal Council's meeting, the
Ministry's approval and the public announcement, in that order, in the finalized phase, by the Secretariat; the
round is published by the announcement and by nothing else. A refused step records nothing."""

from __future__ import annotations

from datetime import date

import pytest

from council.services.publication_service import Approval, Meeting
from domain.errors import (
    ForbiddenRoleError,
    InvalidStepError,
    PermissionDeniedError,
    PublishedByAnnouncementError,
    StepAlreadyRecordedError,
    StepDateError,
    StepOutOfOrderError,
    WrongPhaseError,
)
from tests.builders import MOJ_MEMBER, SECRETARIAT, UNITS, officer, open_round

MEMBERS = ("Nguyễn Văn Hùng", "Trần Thị Thu Hà", "Lê Minh Tuấn")
MEETING = Meeting(date(2025, 3, 26), MEMBERS, "Biên bản số 12/BB-HĐTĐ")
APPROVAL = Approval("268/QĐ-BNV", date(2025, 3, 28))
ANNOUNCED_ON = date(2025, 4, 6)
STEP_TYPES = ["council-meeting-held", "results-approved", "results-announced"]


def log_size(council) -> int:
    return council.recorder.max_notification_id() or 0


def to_council_review(council, clock) -> str:
    """A round of one unit in council review on 21 March."""
    key = open_round(council, units=UNITS[:1])
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    clock.set(2025, 3, 12, 9)
    council.advance_phase(key, "explanation", SECRETARIAT)
    clock.set(2025, 3, 21, 9)
    council.advance_phase(key, "council_review", SECRETARIAT)
    return key


def finalized(council, clock) -> str:
    """A finalized round; the steps are recorded on 6 April, the day of the announcement."""
    key = to_council_review(council, clock)
    council.advance_phase(key, "finalized", SECRETARIAT)
    clock.set(2025, 4, 6, 9)
    return key


def refused(council, error: type[Exception], command, *args):
    """The command is refused with `error` and records nothing; the refusal is returned."""
    before = log_size(council)
    with pytest.raises(error) as raised:
        command(*args)
    assert log_size(council) == before
    return raised.value


def test_the_three_steps_in_order_publish_the_round_at_the_announcement_only(council, clock, read_models):
    key = finalized(council, clock)
    assert [council.round(key)[step] for step in ("meeting", "approval", "announcement")] == [None, None, None]

    met = council.record_council_meeting(key, MEETING, SECRETARIAT)
    assert (met.type, council.round(key)["phase"], read_models.results(key)["phase"]) == (
        "council-meeting-held", "finalized", "finalized")
    approved = council.record_approval(key, APPROVAL, SECRETARIAT)
    assert (approved.type, council.round(key)["phase"], read_models.results(key)["phase"]) == (
        "results-approved", "finalized", "finalized")
    announced = council.announce(key, ANNOUNCED_ON, SECRETARIAT)
    assert (announced.type, announced.version) == ("results-announced", approved.version + 1)

    rnd = council.round(key)
    assert rnd["phase"] == "published"
    assert rnd["meeting"] == {"held_on": date(2025, 3, 26), "members": list(MEMBERS),
                              "minutes": "Biên bản số 12/BB-HĐTĐ"}
    assert rnd["approval"] == {"number": "268/QĐ-BNV", "decided_on": date(2025, 3, 28)}
    assert rnd["announcement"] == {"announced_on": date(2025, 4, 6)}
    assert read_models.results(key)["phase"] == "published"  # the rounds view follows the announcement


def test_steps_out_of_order_are_refused_with_409_and_record_nothing(council, clock):
    key = finalized(council, clock)
    early = refused(council, StepOutOfOrderError, council.record_approval, key, APPROVAL, SECRETARIAT)
    assert (early.type, early.status, early.details["missing"]) == ("step-out-of-order", 409, "meeting")
    early = refused(council, StepOutOfOrderError, council.announce, key, ANNOUNCED_ON, SECRETARIAT)
    assert early.details["missing"] == "meeting"
    council.record_council_meeting(key, MEETING, SECRETARIAT)
    early = refused(council, StepOutOfOrderError, council.announce, key, ANNOUNCED_ON, SECRETARIAT)
    assert early.details["missing"] == "approval"
    assert (council.round(key)["phase"], council.round(key)["approval"]) == ("finalized", None)


def test_steps_outside_the_finalized_phase_are_refused(council, clock):
    key = to_council_review(council, clock)
    clock.set(2025, 4, 6, 9)
    wrong = refused(council, WrongPhaseError, council.record_council_meeting, key, MEETING, SECRETARIAT)
    assert (wrong.type, wrong.status, wrong.details["phase"]) == ("wrong-phase", 409, "council_review")
    refused(council, WrongPhaseError, council.record_approval, key, APPROVAL, SECRETARIAT)
    refused(council, WrongPhaseError, council.announce, key, ANNOUNCED_ON, SECRETARIAT)

    council.advance_phase(key, "finalized", SECRETARIAT)
    council.record_council_meeting(key, MEETING, SECRETARIAT)
    council.record_approval(key, APPROVAL, SECRETARIAT)
    council.announce(key, ANNOUNCED_ON, SECRETARIAT)
    for command, argument in ((council.record_council_meeting, MEETING), (council.record_approval, APPROVAL),
                              (council.announce, ANNOUNCED_ON)):
        again = refused(council, WrongPhaseError, command, key, argument, SECRETARIAT)
        assert again.details["phase"] == "published"


def test_a_second_meeting_or_approval_is_refused_it_does_not_supersede_the_first(council, clock):
    key = finalized(council, clock)
    council.record_council_meeting(key, MEETING, SECRETARIAT)
    later = Meeting(date(2025, 3, 27), MEMBERS[:2], "Biên bản số 13/BB-HĐTĐ")
    twice = refused(council, StepAlreadyRecordedError, council.record_council_meeting, key, later, SECRETARIAT)
    assert (twice.type, twice.status, twice.details["step"]) == ("step-already-recorded", 409, "meeting")
    council.record_approval(key, APPROVAL, SECRETARIAT)
    twice = refused(council, StepAlreadyRecordedError, council.record_approval, key,
                    Approval("270/QĐ-BNV", date(2025, 3, 29)), SECRETARIAT)
    assert twice.details["step"] == "approval"
    assert (council.round(key)["meeting"]["minutes"], council.round(key)["approval"]["number"]) == (
        "Biên bản số 12/BB-HĐTĐ", "268/QĐ-BNV")


def test_a_step_dated_before_the_previous_one_or_after_today_is_refused(council, clock):
    key = finalized(council, clock)
    future = refused(council, StepDateError, council.record_council_meeting, key,
                     Meeting(date(2025, 4, 7), MEMBERS, "Biên bản số 12/BB-HĐTĐ"), SECRETARIAT)
    assert (future.type, future.status, future.details["today"]) == ("step-date", 422, "2025-04-06")
    council.record_council_meeting(key, MEETING, SECRETARIAT)
    before = refused(council, StepDateError, council.record_approval, key,
                     Approval("268/QĐ-BNV", date(2025, 3, 25)), SECRETARIAT)
    assert (before.details["decided_on"], before.details["previous"]) == ("2025-03-25", "2025-03-26")
    council.record_approval(key, Approval("268/QĐ-BNV", date(2025, 3, 26)), SECRETARIAT)  # the same day is fine
    before = refused(council, StepDateError, council.announce, key, date(2025, 3, 25), SECRETARIAT)
    assert before.details["previous"] == "2025-03-26"
    refused(council, StepDateError, council.announce, key, date(2025, 4, 7), SECRETARIAT)
    assert council.round(key)["phase"] == "finalized"


@pytest.mark.parametrize(("members", "minutes"), [
    ((), "Biên bản số 12/BB-HĐTĐ"), (("Nguyễn Văn Hùng", "  "), "Biên bản số 12/BB-HĐTĐ"),
    (("Nguyễn Văn Hùng", "Nguyễn Văn Hùng "), "Biên bản số 12/BB-HĐTĐ"), (MEMBERS, " ")])
def test_a_meeting_needs_its_members_present_once_each_and_its_minutes(council, clock, members, minutes):
    key = finalized(council, clock)
    invalid = refused(council, InvalidStepError, council.record_council_meeting, key,
                      Meeting(date(2025, 3, 26), members, minutes), SECRETARIAT)
    assert (invalid.type, invalid.status) == ("invalid-step", 422)
    assert council.round(key)["meeting"] is None


def test_an_approval_needs_its_decision_number(council, clock):
    key = finalized(council, clock)
    council.record_council_meeting(key, MEETING, SECRETARIAT)
    refused(council, InvalidStepError, council.record_approval, key, Approval(" ", date(2025, 3, 28)), SECRETARIAT)


def test_a_phase_change_to_published_is_refused_and_names_the_three_steps(council, clock):
    key = to_council_review(council, clock)
    refused(council, PublishedByAnnouncementError, council.advance_phase, key, "published", SECRETARIAT)
    council.advance_phase(key, "finalized", SECRETARIAT)
    clock.set(2025, 4, 6, 9)
    for steps in range(3):
        if steps == 1:
            council.record_council_meeting(key, MEETING, SECRETARIAT)
        if steps == 2:
            council.record_approval(key, APPROVAL, SECRETARIAT)
        no = refused(council, PublishedByAnnouncementError, council.advance_phase, key, "published", SECRETARIAT)
        assert isinstance(no, WrongPhaseError)
        assert (no.type, no.status) == ("published-by-announcement", 409)
        assert all(word in str(no) for word in ("meeting", "approval", "announcement"))
    assert council.round(key)["phase"] == "finalized"


def test_only_the_secretariat_records_the_steps(council, clock):
    key = finalized(council, clock)
    for who in (officer("01"), MOJ_MEMBER):
        denied = refused(council, ForbiddenRoleError, council.record_council_meeting, key, MEETING, who)
        assert denied.status == 403
    council.record_council_meeting(key, MEETING, SECRETARIAT)
    refused(council, ForbiddenRoleError, council.record_approval, key, APPROVAL, MOJ_MEMBER)
    council.record_approval(key, APPROVAL, SECRETARIAT)
    refused(council, ForbiddenRoleError, council.announce, key, ANNOUNCED_ON, officer("01"))


def test_the_three_steps_are_in_the_audit_trail_as_the_secretariats(council, clock, read_models):
    key = finalized(council, clock)
    receipts = [council.record_council_meeting(key, MEETING, SECRETARIAT),
                council.record_approval(key, APPROVAL, SECRETARIAT), council.announce(key, ANNOUNCED_ON, SECRETARIAT)]
    page = read_models.audit({"round_key": key}, MOJ_MEMBER, limit=1000)
    assert page["next_cursor"] is None
    rows = [row for row in page["items"] if row["type"] in STEP_TYPES]
    assert [(row["type"], row["actor"], row["role"], row["position"], row["hash"]) for row in rows] == [
        (t, SECRETARIAT.id, "secretariat", r.notification_id, r.event_hash) for t, r in zip(STEP_TYPES, receipts,
                                                                                               strict=True)]
    assert [row["stream"] for row in rows] == [receipts[0].stream] * 3
    last_phase = [row for row in page["items"] if row["type"] in ("phase-advanced", *STEP_TYPES)][-4:]
    assert [row["type"] for row in last_phase] == ["phase-advanced", *STEP_TYPES]


def test_a_unit_reads_the_results_only_once_they_are_announced(council, clock, read_models):
    key = finalized(council, clock)
    steps = [(council.record_council_meeting, MEETING), (council.record_approval, APPROVAL)]
    for command, argument in steps:
        with pytest.raises(PermissionDeniedError):
            read_models.results(key, officer("01"))
        command(key, argument, SECRETARIAT)
    with pytest.raises(PermissionDeniedError):
        read_models.results(key, officer("01"))
    council.announce(key, ANNOUNCED_ON, SECRETARIAT)
    results = read_models.results(key, officer("01"))
    assert (results["phase"], [r.unit.code for r in results["units"]]) == ("published", ["01"])
