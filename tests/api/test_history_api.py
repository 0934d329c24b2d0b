"""GET …/scores/{leaf}/history?as_of=…&version=… over HTTP, at the edges, as the inspector reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote, urlencode

import pytest

from tests.api.test_scores_api import PROBLEM, SCORE, open_round

HISTORY = f"{SCORE}/history"
ICT = timezone(timedelta(hours=7))
MICROSECOND = timedelta(microseconds=1)


@dataclass
class Story:
    times: list[datetime]  # recorded time of each command, in order (UTC, as the API gives it)
    versions: list[int]  # the last version each command wrote


@pytest.fixture
def story(callers, clock) -> Story:
    """Three commands on unit 01, leaf 2.1.1: self-score 0.50 (opened v1 + self-scored v2, one timestamp),
    self-score 0.75 (v3), the MOJ member's adjustment to 0.25 (v4)."""
    open_round(callers)
    officer = callers["officer01"]
    first = officer.put(f"{SCORE}/self-assessment", json={"points": "0.50"})
    second = officer.put(f"{SCORE}/self-assessment", json={"points": "0.75"})
    clock.set(2025, 2, 10, 9)
    advance = callers["secretariat"].post("/api/v1/rounds/2024-province/phase", json={"phase": "appraisal"})
    assert advance.status_code == 201
    third = callers["moj"].post(f"{SCORE}/adjustments", json={"points": "0.25", "reason": "Ban hành chậm"},
                                headers={"If-Match": '"3"'})
    receipts = [first, second, third]
    assert [r.status_code for r in receipts] == [200, 200, 201], [r.json for r in receipts]
    return Story([datetime.fromisoformat(r.json["recorded_at"]) for r in receipts],
                 [r.json["version"] for r in receipts])


def history(callers, caller: str = "inspector", **query):
    """The history with the query encoded properly (the '+' of a zone becomes %2B)."""
    params = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in query.items()}
    return callers[caller].get(f"{HISTORY}?{urlencode(params)}" if params else HISTORY)


def versions(answer) -> list[int]:
    assert answer.status_code == 200, answer.json
    return [e["version"] for e in answer.json["events"]]


def test_the_story_has_the_expected_versions_and_times(callers, story):
    assert story.versions == [2, 3, 4]
    assert story.times == sorted(set(story.times))
    full = history(callers)
    assert versions(full) == [1, 2, 3, 4]
    recorded = [datetime.fromisoformat(e["recorded_at"]) for e in full.json["events"]]
    assert recorded == [story.times[0], *story.times]


def test_as_of_before_the_first_event_has_no_state_and_no_events(callers, story):
    for as_of in (story.times[0] - MICROSECOND, datetime(2020, 1, 1, tzinfo=ICT)):
        answer = history(callers, as_of=as_of)
        assert answer.status_code == 200
        assert (answer.json["state"], answer.json["events"], answer.json["verified"]) == (None, [], True)


def test_as_of_exactly_at_a_command_holds_all_its_events_and_a_microsecond_before_none_of_them(callers, story):
    assert versions(history(callers, as_of=story.times[0])) == [1, 2]
    for i in (1, 2):
        assert versions(history(callers, as_of=story.times[i])) == list(range(1, story.versions[i] + 1))
        assert versions(history(callers, as_of=story.times[i] - MICROSECOND)) == list(
            range(1, story.versions[i - 1] + 1))
    at = history(callers, as_of=story.times[1]).json["state"]
    assert (at["version"], at["points"]) == (3, "0.75")


def test_as_of_in_another_zone_or_with_z_is_the_same_instant(callers, story):
    at = story.times[1]
    assert versions(history(callers, as_of=at.astimezone(ICT))) == [1, 2, 3]
    assert versions(history(callers, as_of=(at - MICROSECOND).astimezone(ICT))) == [1, 2]
    zulu = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert versions(callers["inspector"].get(f"{HISTORY}?as_of={zulu}")) == [1, 2, 3]
    encoded = quote(at.astimezone(ICT).isoformat(), safe="")
    assert "%2B07%3A00" in encoded
    assert versions(callers["inspector"].get(f"{HISTORY}?as_of={encoded}")) == [1, 2, 3]


def test_as_of_after_the_last_event_is_the_full_history(callers, story):
    full = history(callers).json
    for as_of in (story.times[-1], story.times[-1] + MICROSECOND, datetime(2099, 1, 1, tzinfo=ICT)):
        assert history(callers, as_of=as_of).json == full
    assert (full["state"]["version"], full["state"]["points"]) == (4, "0.25")


def test_version_zero_has_no_state_and_no_events(callers, story):
    answer = history(callers, version=0)
    assert answer.status_code == 200
    assert (answer.json["state"], answer.json["events"]) == (None, [])


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_version_n_is_exactly_the_first_n_events(callers, story, n):
    answer = history(callers, version=n)
    assert versions(answer) == list(range(1, n + 1))
    assert answer.json["state"]["version"] == n
    assert answer.json["events"] == history(callers).json["events"][:n]


def test_a_version_beyond_the_last_is_the_full_history(callers, story):
    full = history(callers).json
    for version in (4, 5, 1000):
        assert history(callers, version=version).json == full


def test_version_and_as_of_together_cut_at_whichever_comes_first(callers, story):
    assert versions(history(callers, version=1, as_of=story.times[-1])) == [1]
    assert versions(history(callers, version=4, as_of=story.times[1])) == [1, 2, 3]


@pytest.mark.parametrize(("query", "field"), [
    ("as_of=yesterday", "as_of"),
    ("as_of=2025-13-01T09:00:00%2B07:00", "as_of"),
    ("as_of=", "as_of"),
    ("as_of=2025-01-10T09:00:02", "as_of"),  # naive: no zone
    ("as_of=2025-01-10", "as_of"),  # a date, not a time with a zone
    ("version=-1", "version"),
    ("version=two", "version"),
])
def test_malformed_or_naive_cuts_get_a_422_validation_problem(callers, story, query, field):
    answer = callers["inspector"].get(f"{HISTORY}?{query}")
    assert (answer.status_code, answer.mimetype, answer.json["type"]) == (422, PROBLEM, "validation-error"), (
        query, answer.json)
    assert field in answer.json["errors"]


def test_an_unencoded_plus_arrives_as_a_space_and_is_refused_not_misread(callers, story):
    raw = story.times[1].astimezone(ICT).isoformat()
    answer = callers["inspector"].get(f"{HISTORY}?as_of={raw}")
    assert (answer.status_code, answer.json["type"]) == (422, "validation-error")


def test_time_travel_keeps_the_readers_scope(callers, story):
    assert versions(history(callers, "officer01", version=2)) == [1, 2]
    other = history(callers, "officer79", as_of=story.times[0])
    assert (other.status_code, other.mimetype, other.json["type"]) == (403, PROBLEM, "forbidden-scope")


def test_a_leaf_without_events_is_404_whatever_the_cut(callers, story):
    answer = callers["inspector"].get("/api/v1/rounds/2024-province/units/01/scores/1.1.1/history?version=0")
    assert (answer.status_code, answer.mimetype) == (404, PROBLEM)
