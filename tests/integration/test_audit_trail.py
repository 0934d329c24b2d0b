"""The audit trail and disputes views through the services, on SQLite and on PostgreSQL: a log of more than
10,000 events paged without gaps or repeats, every filter equal to a brute-force filter, the whole story of
a disputed score, reader scopes, and the disputes of a played round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from council.infra import unit_lists
from council.services.appraisal_service import ExplanationReport
from council.services.round_service import Extension
from domain.errors import ForbiddenRoleError, WrongUnitError
from domain.values import Actor, Role, ScoreAddress
from projections.read_models import AUDIT_FILTERS
from tests.builders import (
    ICT,
    MOJ_MEMBER,
    SECRETARIAT,
    WINDOWS,
    full_self_assessment,
    officer,
    open_round,
)
from tests.integration.test_whole_round import played  # noqa: F401  (a whole round, as a fixture)

D = Decimal
INSPECTOR = Actor(id="thanhtra@moha", role=Role.INSPECTOR)
ADMIN = Actor(id="cli:test", role=Role.ADMIN)
PROVINCES = unit_lists.load("provinces-2012-2025")[:50]
MINISTRIES = unit_lists.load("ministries-2022-2024")[:2]
ON_TIME = ExplanationReport("Đã ban hành đúng hạn", "0.75")
COLUMNS = {"position", "stream", "round_key", "unit", "leaf", "version", "type", "actor", "role", "recorded_at",
           "points_before", "points_after", "reason", "hash", "request_id"}


def pages(read_models, filters, reader=INSPECTOR, limit=997) -> list[dict]:
    """Every page of an audit query, checked page by page: full pages until the last, the cursor is the last
    position of its page, positions strictly increase within and across pages."""
    items: list[dict] = []
    cursor = 0
    while True:
        page = read_models.audit(filters, reader=reader, cursor=cursor, limit=limit)
        positions = [row["position"] for row in page["items"]]
        assert all(p > cursor for p in positions), (cursor, positions[:3])
        assert positions == sorted(set(positions))
        items.extend(page["items"])
        if page["next_cursor"] is None:
            assert len(positions) <= limit
            return items
        assert len(positions) == limit
        assert page["next_cursor"] == positions[-1]
        cursor = page["next_cursor"]


def at(row: dict) -> datetime:
    return datetime.fromisoformat(row["recorded_at"])


@pytest.fixture
def big_log(council, clock):
    """A province round of 50 units, each storing one report (a blob's uploaded event, outside any round) and
    then self-assessing every appraisal leaf with it (opened, self-scored, evidence-attached: 3 events a leaf, one
    command a unit, one clock second apart), and a ministry round where one ministry does the same."""
    key = open_round(council, units=PROVINCES)
    times = {}
    for unit in PROVINCES:
        full_self_assessment(council, key, unit["code"])
        times[unit["code"]] = clock.now.astimezone(ICT)
    ministry = open_round(council, framework_id="ministry-876-2022", units=MINISTRIES)
    full_self_assessment(council, ministry, MINISTRIES[0]["code"])
    return key, ministry, times


def test_ten_thousand_events_page_through_without_gaps_or_repeats(read_models, council, big_log):
    key, ministry, _ = big_log
    head = council.recorder.max_notification_id()
    leaves = len(council.framework(key).leaves("appraisal"))
    assert head >= 10_000
    blobs = len(PROVINCES) + 1
    assert head == 2 + 3 * leaves * len(PROVINCES) + 3 * len(council.framework(ministry).leaves("appraisal")) + blobs

    rows = pages(read_models, {})
    assert [row["position"] for row in rows] == list(range(1, head + 1))
    assert len(rows) == head
    assert all(set(row) >= COLUMNS and len(row["hash"]) == 64 for row in rows)
    versions: dict[str, list[int]] = {}
    for row in rows:
        versions.setdefault(row["stream"], []).append(row["version"])
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    assert {row["round_key"] for row in rows} == {key, ministry, None}  # None: the stored reports' blobs


def test_every_filter_equals_a_brute_force_filter_and_pages_without_gaps(read_models, council, big_log):
    key, ministry, times = big_log
    everything = pages(read_models, {})
    since, until = times["22"], times["40"]  # aware, in ICT: the service speaks UTC inside
    form = next(row["request_id"] for row in everything if row["type"] == "self-scored" and row["unit"] == "22")
    assert sum(row["request_id"] == form for row in everything) > 1  # one whole form: one request, many events
    assert since.utcoffset() == timedelta(hours=7)
    cases = [
        ({"round_key": key}, lambda r: r["round_key"] == key),
        ({"round_key": ministry}, lambda r: r["round_key"] == ministry),
        ({"unit": "01"}, lambda r: r["unit"] == "01"),
        ({"unit": MINISTRIES[0]["code"]}, lambda r: r["unit"] == MINISTRIES[0]["code"]),
        ({"leaf": "2.1.1"}, lambda r: r["leaf"] == "2.1.1"),
        ({"actor": "officer@79"}, lambda r: r["actor"] == "officer@79"),
        ({"actor": SECRETARIAT.id}, lambda r: r["actor"] == SECRETARIAT.id),
        ({"type": "evidence-attached"}, lambda r: r["type"] == "evidence-attached"),
        ({"type": "opened"}, lambda r: r["type"] == "opened"),
        ({"since": since}, lambda r: at(r) >= since),
        ({"until": until}, lambda r: at(r) < until),
        ({"since": since, "until": until}, lambda r: since <= at(r) < until),
        ({"since": since + timedelta(microseconds=500_000)}, lambda r: at(r) > since),
        ({"until": until - timedelta(microseconds=1)}, lambda r: at(r) < until),
        ({"unit": "01", "type": "self-scored"}, lambda r: r["unit"] == "01" and r["type"] == "self-scored"),
        ({"round_key": key, "unit": "79", "leaf": "2.1.1", "type": "evidence-attached"},
         lambda r: (r["round_key"], r["unit"], r["leaf"], r["type"]) == (key, "79", "2.1.1", "evidence-attached")),
        ({"request_id": form}, lambda r: r["request_id"] == form),
        ({"unit": "01", "actor": "officer@79"}, lambda r: False),
        ({"since": until, "until": since}, lambda r: False),
    ]
    for filters, keep in cases:
        expected = [row for row in everything if keep(row)]
        for limit in (97, 997):
            assert pages(read_models, filters, limit=limit) == expected, (filters, limit)
    assert {name for filters, _ in cases for name in filters} == {*AUDIT_FILTERS, "since", "until"}

    exact = [row for row in everything if row["leaf"] == "2.1.1" and row["round_key"] == key]
    assert len(exact) == 3 * len(PROVINCES)
    one = read_models.audit({"round_key": key, "leaf": "2.1.1"}, INSPECTOR, limit=len(exact))
    assert (one["items"], one["next_cursor"]) == (exact, None)  # an exact fit is one page, not a page and an empty one
    first = read_models.audit({"round_key": key, "leaf": "2.1.1"}, INSPECTOR, limit=len(exact) - 1)
    rest = read_models.audit({"round_key": key, "leaf": "2.1.1"}, INSPECTOR, cursor=first["next_cursor"], limit=1000)
    assert (first["items"] + rest["items"], rest["next_cursor"]) == (exact, None)

    until_rows = pages(read_models, {"until": until})
    assert not any(at(row) == until for row in until_rows)  # until is exclusive ...
    assert any(at(row) == until for row in everything)  # ... and rows at that very time exist
    assert all(at(row) >= since for row in pages(read_models, {"since": since}))
    assert any(at(row) == since for row in pages(read_models, {"since": since}))  # since is inclusive


def test_the_audit_tells_the_whole_story_of_a_disputed_score_in_order(read_models, council, played):  # noqa: F811
    rows = pages(read_models, {"round_key": played, "unit": "01", "leaf": "2.1.1"}, limit=3)
    story = [(r["type"], r["actor"], r["role"], r["points_before"] and D(str(r["points_before"])),
              r["points_after"] and D(str(r["points_after"])), r["reason"]) for r in rows]
    assert story == [
        ("opened", "officer@01", "unit", None, None, ""),
        ("self-scored", "officer@01", "unit", None, D("0.75"), ""),
        ("evidence-attached", "officer@01", "unit", D("0.75"), D("0.75"), ""),
        ("appraisal-proposed", "thuky@moha", "secretariat", D("0.75"), D("0.75"), ""),
        ("council-adjusted", "member@moj", "council", D("0.75"), D("0.25"), "Văn bản ban hành chậm so với kế hoạch"),
        ("explanation-filed", "officer@01", "unit", D("0.25"), D("0.25"),
         "Văn bản ban hành đúng hạn theo quyết định số 12"),
        ("explanation-accepted", "member@moj", "council", D("0.25"), D("0.50"), "Chấp nhận một phần"),
        ("finalized", "thuky@moha", "secretariat", D("0.50"), D("0.50"), ""),
    ]
    assert [r["version"] for r in rows] == list(range(1, 9))
    assert len({r["stream"] for r in rows}) == 1
    times = [at(r) for r in rows]
    assert times == sorted(times) and all(t.utcoffset() == timedelta(0) for t in times)
    history = council.history(ScoreAddress(played, "01", "2.1.1"))["events"]
    assert [r["hash"] for r in rows] == [e["hash"] for e in history]


def test_an_officer_reads_only_their_own_units_audit_and_an_admin_none(read_models, council, played):  # noqa: F811
    own = pages(read_models, {}, reader=officer("79"), limit=101)
    assert own and {r["unit"] for r in own} == {"79"}
    assert own == pages(read_models, {"unit": "79"}, reader=INSPECTOR, limit=101)
    assert pages(read_models, {"round_key": played, "type": "self-scored"}, reader=officer("79")) == [
        r for r in own if r["type"] == "self-scored"]
    with pytest.raises(WrongUnitError):
        read_models.audit({"unit": "01"}, reader=officer("79"))
    with pytest.raises(WrongUnitError):
        read_models.disputes(played, officer("79"), unit="01")
    for filters in ({}, {"unit": "01"}, {"round_key": played}):
        with pytest.raises(ForbiddenRoleError):
            read_models.audit(filters, reader=ADMIN)
    with pytest.raises(ForbiddenRoleError):
        read_models.disputes(played, ADMIN)
    for reader in (SECRETARIAT, MOJ_MEMBER, INSPECTOR):
        assert read_models.audit({"unit": "01"}, reader=reader, limit=5)["items"]


def test_the_disputes_of_a_played_round(read_models, council, played):  # noqa: F811
    closes = WINDOWS["explanation"]["closes_at"]
    found = read_models.disputes(played, INSPECTOR)
    assert len(found) == 1
    dispute = found[0]
    assert (dispute["round_key"], dispute["unit"], dispute["leaf"], dispute["explanation_id"]) == (
        played, "01", "2.1.1", "1")
    assert dispute["state"] == "accepted"
    assert D(str(dispute["decided_points"])) == D("0.50")
    assert D(str(dispute["requested_points"])) == D("0.75")
    assert dispute["argument"] == "Văn bản ban hành đúng hạn theo quyết định số 12"
    assert (dispute["filed_by"], dispute["decided_by"]) == ("officer@01", "member@moj")
    assert dispute["decision_reason"] == "Chấp nhận một phần"
    assert datetime.fromisoformat(dispute["window_closes_at"]) == closes
    assert datetime.fromisoformat(dispute["filed_at"]) < closes <= datetime.fromisoformat(dispute["decided_at"])
    assert read_models.disputes(played, officer("01")) == found
    assert read_models.disputes(played, officer("79")) == []
    assert read_models.disputes(played, INSPECTOR, unit="01", state="accepted") == found
    assert read_models.disputes(played, INSPECTOR, state="open") == []
    assert read_models.disputes(played, INSPECTOR, unit="79") == []


def test_a_disputes_window_close_is_utc_iso_like_every_other_time(read_models, council, played):  # noqa: F811
    dispute = read_models.disputes(played, INSPECTOR)[0]
    assert dispute["window_closes_at"] == WINDOWS["explanation"]["closes_at"].astimezone(UTC).isoformat()
    assert dispute["window_closes_at"] == "2025-03-19T17:00:00+00:00"


def explanation_round(council, clock) -> str:
    key = open_round(council)
    for unit in ("01", "79"):
        full_self_assessment(council, key, unit, fraction=D(1))
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    clock.set(2025, 3, 12, 9)
    council.advance_phase(key, "explanation", SECRETARIAT)
    return key


def test_an_explanation_filed_after_a_units_extension_belongs_to_the_extended_window(read_models, council, clock):
    key = explanation_round(council, clock)
    extended = datetime(2025, 3, 25, tzinfo=ICT)
    council.extend_window(key, Extension("explanation", extended, "Bão lũ", unit="79"), SECRETARIAT)
    council.file_explanation(ScoreAddress(key, "79", "2.1.1"), ON_TIME, officer("79"))
    council.file_explanation(ScoreAddress(key, "01", "2.1.1"), ON_TIME, officer("01"))
    closes = {d["unit"]: datetime.fromisoformat(d["window_closes_at"]) for d in read_models.disputes(key, INSPECTOR)}
    assert closes == {"01": WINDOWS["explanation"]["closes_at"], "79": extended}
    assert {d["state"] for d in read_models.disputes(key, INSPECTOR)} == {"open"}


def test_an_extension_after_filing_moves_the_disputes_window_close(read_models, council, clock):
    key = explanation_round(council, clock)
    council.file_explanation(ScoreAddress(key, "01", "2.1.1"), ON_TIME, officer("01"))
    extended = datetime(2025, 3, 25, tzinfo=ICT)
    council.extend_window(key, Extension("explanation", extended, "Bão lũ", unit="01"), SECRETARIAT)
    (dispute,) = read_models.disputes(key, INSPECTOR)
    assert datetime.fromisoformat(dispute["window_closes_at"]) == extended
