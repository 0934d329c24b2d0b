"""A whole round through the services, on SQLite and on PostgreSQL: exact totals, faithful replay."""

from __future__ import annotations

from decimal import Decimal

import pytest

from council.services.appraisal_service import Decision, ExplanationReport
from council.services.score_queries import as_dict
from domain.ids import score_id
from domain.values import ScoreAddress
from tests.builders import MOJ_MEMBER, SECRETARIAT, full_self_assessment, officer, open_round, stored_document

D = Decimal


@pytest.fixture
def played(council, clock):
    """Unit 01 scores full marks, loses 0.50 on leaf 2.1.1 to the council, wins 0.25 back by explanation,
    and gets every survey point but 0.30 of leaf 1.3.3. Unit 79 scores half; unit 48 nothing."""
    key = open_round(council)
    full_self_assessment(council, key, "01", fraction=D(1))
    full_self_assessment(council, key, "79", fraction=D("0.5"))
    council.submit(key, "01", "Chủ tịch UBND thành phố Hà Nội", stored_document(council, "01", "report-01"),
                   officer("01"))
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    for unit in ("01", "79"):
        council.propose_many(key, unit, [
            {"leaf": s["leaf"], "points": s["self_points"], "expected_version": s["version"]}
            for s in council.unit_scores(key, unit)], SECRETARIAT)
    at = ScoreAddress(key, "01", "2.1.1")
    version = council.score(at)["version"]
    council.adjust(at, "0.25", "Văn bản ban hành chậm so với kế hoạch", version, MOJ_MEMBER)
    clock.set(2025, 3, 12, 9)
    council.advance_phase(key, "explanation", SECRETARIAT)
    report = ExplanationReport("Văn bản ban hành đúng hạn theo quyết định số 12", "0.75")
    council.file_explanation(at, report, officer("01"))
    survey = {leaf.code: leaf.max_points for leaf in council.framework(key).leaves("survey")}
    for unit in ("01", "79", "48"):
        council.record_survey(key, unit, survey | ({"1.3.3": "0.20"} if unit == "01" else {}), SECRETARIAT,
                              source="Điều tra xã hội học 2024")
    clock.set(2025, 3, 21, 9)
    council.advance_phase(key, "council_review", SECRETARIAT)
    version = council.score(at)["version"]
    council.decide_explanation(at, "1", Decision(True, "Chấp nhận một phần", "0.50"), version, MOJ_MEMBER)
    clock.set(2025, 4, 2, 9)
    council.advance_phase(key, "finalized", SECRETARIAT)
    return key


def test_one_units_index_matches_the_hand_computation(read_models, council, played):
    results = read_models.results(played)
    first = results["units"][0]
    assert first.unit.code == "01"
    assert first.index == D("68.00") - D("0.25") + D("32.00") - D("0.30") == D("99.45")
    assert first.fields["2"] == D("8.25")
    assert first.components["2"].quantize(D("0.0001")) == D("97.0588")
    assert first.components["1"] == D("97.00")
    assert (first.rank, first.group) == (1, "A")
    assert [r.unit.code for r in results["units"]] == ["01", "79", "48"]
    assert results["units"][2].index == D("32.00")


def test_every_leaf_of_every_unit_is_finalized_and_points_stay_decimal(council, played):
    states = council.unit_scores(played, "48")
    assert len(states) == len(council.framework(played).leaves())
    assert all(s["status"] == "final" and isinstance(s["final_points"], Decimal) for s in states)


def test_the_disputed_score_tells_its_whole_story_in_order(council, played):
    history = council.history(ScoreAddress(played, "01", "2.1.1"))
    assert [e["type"] for e in history["events"]] == [
        "opened", "self-scored", "evidence-attached", "appraisal-proposed", "council-adjusted",
        "explanation-filed", "explanation-accepted", "finalized"]
    adjusted = history["events"][4]
    assert (adjusted["actor"]["id"], adjusted["points_before"], adjusted["points_after"]) == (
        "member@moj", D("0.75"), D("0.25"))
    assert adjusted["reason"] == "Văn bản ban hành chậm so với kế hoạch"
    assert history["verified"] is True


def replay(events):
    state = None
    for event in events:
        state = event.mutate(state)
    return as_dict(state)


def test_a_replayed_stream_equals_the_saved_state_and_each_version_equals_its_prefix(council, played):
    stream = score_id(played, "01", "2.1.1")
    events = list(council.events.get(stream))
    state = council.score(ScoreAddress(played, "01", "2.1.1"))
    assert as_dict(council.repository.get(stream)) == state == replay(events)
    for n in range(1, len(events) + 1):
        assert council.score(ScoreAddress(played, "01", "2.1.1"), version=n) == replay(events[:n])


def test_the_state_as_of_a_time_holds_every_event_recorded_by_then(council, played):
    events = list(council.events.get(score_id(played, "01", "2.1.1")))
    for event in events:
        by_then = [e for e in events if e.timestamp <= event.timestamp]
        assert council.score(ScoreAddress(played, "01", "2.1.1"), as_of=event.timestamp) == replay(by_then)
    assert council.score(ScoreAddress(played, "01", "2.1.1"), as_of=events[0].timestamp.replace(year=2020)) is None
