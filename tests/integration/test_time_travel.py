"""Reading a score as of a time or a version, at the edges: before the first event, exactly at an event,
one microsecond before it, after the last; version 0, N and beyond. On SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.errors import InvalidQueryError
from domain.values import ScoreAddress
from tests.builders import ICT, MOJ_MEMBER, SECRETARIAT, officer, open_round, stored_document

D = Decimal
LEAF = "2.1.1"
MICROSECOND = timedelta(microseconds=1)


@dataclass
class Story:
    key: str
    times: list[datetime]  # recorded time of each command, in order
    versions: list[int]  # the last version each command wrote


@pytest.fixture
def story(council, clock) -> Story:
    """Four commands on unit 01, leaf 2.1.1 (max 0.75):
    1. self-assessment form: opened (v1), self-scored 0.50 (v2), evidence-attached (v3), one timestamp;
    2. self-score changed to 0.75 (v4);
    3. the Secretariat proposes 0.75 (v5);
    4. the MOJ member adjusts to 0.25 (v6)."""
    key = open_round(council)
    plan = stored_document(council, "01", "plan")
    form = council.self_assess(key, "01", [{"leaf": LEAF, "points": "0.50", "evidence": [plan]}], officer("01"))
    changed = council.self_score(ScoreAddress(key, "01", LEAF), "0.75", officer("01"))
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    proposed = council.propose(ScoreAddress(key, "01", LEAF), "0.75", changed.version, SECRETARIAT, comment="Đạt")
    adjusted = council.adjust(ScoreAddress(key, "01", LEAF), "0.25", "Văn bản ban hành chậm", proposed.version,
                              MOJ_MEMBER)
    assert [r.version for r in form] == [1, 2, 3]
    assert len({r.recorded_at for r in form}) == 1
    receipts = [form[-1], changed, proposed, adjusted]
    return Story(key, [r.recorded_at for r in receipts], [r.version for r in receipts])


def versions(history) -> list[int]:
    return [e["version"] for e in history["events"]]


def test_the_recorded_times_are_aware_and_strictly_increasing(council, story):
    history = council.history(ScoreAddress(story.key, "01", LEAF))
    assert all(e["recorded_at"].tzinfo is not None for e in history["events"])
    assert [e["recorded_at"] for e in history["events"]] == [story.times[0]] * 3 + story.times[1:]
    assert story.times == sorted(set(story.times))


def test_as_of_before_the_first_event_has_no_state_and_no_events(council, story):
    for as_of in (story.times[0] - MICROSECOND, story.times[0] - timedelta(days=365)):
        history = council.history(ScoreAddress(story.key, "01", LEAF), as_of=as_of)
        assert (history["state"], history["events"]) == (None, [])
        assert council.score(ScoreAddress(story.key, "01", LEAF), as_of=as_of) is None


def test_as_of_exactly_at_a_commands_time_holds_every_event_of_that_command(council, story):
    history = council.history(ScoreAddress(story.key, "01", LEAF), as_of=story.times[0])
    assert versions(history) == [1, 2, 3]
    assert [e["type"] for e in history["events"]] == ["opened", "self-scored", "evidence-attached"]
    state = history["state"]
    assert (state["version"], state["self_points"], state["points"], len(state["evidence"])) == (
        3, D("0.50"), D("0.50"), 1)


@pytest.mark.parametrize("command", [1, 2, 3])
def test_as_of_exactly_at_an_event_includes_it_and_one_microsecond_before_excludes_it(council, story, command):
    at = council.history(ScoreAddress(story.key, "01", LEAF), as_of=story.times[command])
    before = council.history(ScoreAddress(story.key, "01", LEAF), as_of=story.times[command] - MICROSECOND)
    assert versions(at) == list(range(1, story.versions[command] + 1))
    assert versions(before) == list(range(1, story.versions[command - 1] + 1))
    assert at["state"]["version"] == story.versions[command]
    assert before["state"]["version"] == story.versions[command - 1]


def test_the_cut_is_an_instant_whatever_the_time_zone_of_as_of(council, story):
    at_utc = story.times[1]
    assert at_utc.utcoffset() == timedelta(0)
    for zone in (ICT, timezone(timedelta(hours=-5)), UTC):
        same_instant = at_utc.astimezone(zone)
        assert versions(council.history(ScoreAddress(story.key, "01", LEAF), as_of=same_instant)) == [1, 2, 3, 4]
        cut = council.history(ScoreAddress(story.key, "01", LEAF), as_of=same_instant - MICROSECOND)
        assert versions(cut) == [1, 2, 3]


def test_as_of_after_the_last_event_is_the_full_state(council, story):
    now = council.history(ScoreAddress(story.key, "01", LEAF))
    for as_of in (story.times[-1], story.times[-1] + MICROSECOND, datetime(2099, 1, 1, tzinfo=ICT)):
        assert council.history(ScoreAddress(story.key, "01", LEAF), as_of=as_of) == now
    assert versions(now) == [1, 2, 3, 4, 5, 6]
    assert (now["state"]["points"], now["state"]["adjusted_points"]) == (D("0.25"), D("0.25"))


def test_version_zero_has_no_state_and_no_events(council, story):
    history = council.history(ScoreAddress(story.key, "01", LEAF), version=0)
    assert (history["state"], history["events"]) == (None, [])
    assert council.score(ScoreAddress(story.key, "01", LEAF), version=0) is None


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_version_n_is_exactly_the_first_n_events(council, story, n):
    history = council.history(ScoreAddress(story.key, "01", LEAF), version=n)
    assert versions(history) == list(range(1, n + 1))
    assert history["state"]["version"] == n
    assert history["events"] == council.history(ScoreAddress(story.key, "01", LEAF))["events"][:n]


def test_points_before_and_after_follow_the_version_cut(council, story):
    history = council.history(ScoreAddress(story.key, "01", LEAF), version=4)
    assert [(e["points_before"], e["points_after"]) for e in history["events"]] == [
        (None, None), (None, D("0.50")), (D("0.50"), D("0.50")), (D("0.50"), D("0.75"))]
    assert council.score(ScoreAddress(story.key, "01", LEAF), version=4)["points"] == D("0.75")


def test_a_version_beyond_the_last_is_the_full_history(council, story):
    full = council.history(ScoreAddress(story.key, "01", LEAF))
    for version in (6, 7, 1000):
        assert council.history(ScoreAddress(story.key, "01", LEAF), version=version) == full


def test_version_and_as_of_together_cut_at_whichever_comes_first(council, story):
    assert versions(council.history(ScoreAddress(story.key, "01", LEAF), version=2, as_of=story.times[-1])) == [1, 2]
    at = ScoreAddress(story.key, "01", LEAF)
    assert versions(council.history(at, version=6, as_of=story.times[1])) == [1, 2, 3, 4]
    assert council.history(at, version=5, as_of=story.times[0] - MICROSECOND)["state"] is None


def test_a_cut_history_is_still_verified_against_the_whole_stream(council, story):
    assert council.history(ScoreAddress(story.key, "01", LEAF), version=0)["verified"] is True
    assert council.history(ScoreAddress(story.key, "01", LEAF), as_of=story.times[0] - MICROSECOND)["verified"] is True


def test_a_naive_as_of_is_refused_not_silently_read_in_some_zone(council, story):
    # The HTTP layer rejects naive times (422); a local caller passing one must not get an answer either.
    naive = story.times[1].replace(tzinfo=None)
    with pytest.raises(InvalidQueryError, match="as_of needs a time zone"):
        council.history(ScoreAddress(story.key, "01", LEAF), as_of=naive)
