"""The views: a rebuild equals the live tables row for row; a runner stopped mid-log resumes exactly once; one
writer at a time (the lease), fold caches that never run behind or ahead of the view, and a rebuild that died
is started again from the first event, never resumed into emptied tables."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from council.services.appraisal_service import Decision, ExplanationReport
from council.services.round_service import RoundPlan
from domain.values import ScoreAddress
from projections.read_models import RebuildRunningError
from projections.runner import Runner
from projections.tables import NAMES, TABLES
from tests.builders import MOHA_MEMBER, SECRETARIAT, UNITS, WINDOWS, full_self_assessment, officer, open_round
from tests.integration.test_whole_round import played  # noqa: F401  (a whole round, as a fixture)


def table(view, name: str) -> list[tuple]:
    names = TABLES[name]._fields
    rows = view.query(f"SELECT * FROM {{{name}}} ORDER BY {', '.join(names)}")
    return [tuple(row[c] for c in names) for row in rows]


def assert_equal_to_a_clean_rebuild(read_models, view) -> None:
    clean = read_models.view(read_models.rebuild(switch=False))
    try:
        for name in NAMES:
            assert table(view, name) == table(clean, name), name
    finally:
        clean.retire()


def scratch(read_models, generation: int):
    """Empty tables of a generation nobody reads, on the Council's pool."""
    view = read_models.view(generation)
    view.reset()
    return view


def self_scores(council, key: str, unit: str, points: str, leaves: tuple[str, ...] = ("1.1.1", "1.2.1")) -> None:
    for leaf in leaves:
        council.self_score(ScoreAddress(key, unit, leaf), points, officer(unit), note="sửa")


def test_a_rebuild_equals_the_views_kept_up_to_date_while_the_round_was_played(council, read_models,
                                                                               played):  # noqa: F811
    live = read_models.fresh_view()
    generation = read_models.rebuild(switch=False)
    rebuilt = read_models.view(generation)
    try:
        for name in NAMES:
            assert table(rebuilt, name) == table(live, name), name
        assert len(table(live, "audit")) == council.recorder.max_notification_id()
        assert rebuilt.position() == live.position() == council.recorder.max_notification_id()
    finally:
        rebuilt.retire()


def test_readers_switch_to_the_rebuilt_tables_and_see_the_same_results(read_models, played):  # noqa: F811
    before = read_models.results(played)
    old = read_models.runner.view.generation
    assert read_models.rebuild() == old + 1
    assert read_models.status()["generation"] == old + 1
    after = read_models.results(played)
    assert after["kept"] == (played, old + 1, before["kept"][2], False)  # computed afresh from the new tables
    assert {k: v for k, v in after.items() if k != "kept"} == {k: v for k, v in before.items() if k != "kept"}
    assert read_models.runner.view.generation == old + 1


def test_the_views_use_the_councils_pool(council, read_models):
    """One pool per process: the views read and write through the Council's datastore, and closing the read
    models leaves it open."""
    assert read_models.runner.view.datastore is council.recorder.datastore
    assert read_models.view(5).datastore is council.recorder.datastore
    read_models.close()
    assert council.recorder.max_notification_id() is None  # the pool still answers


class Crash(Exception):
    """Injected failure: the runner dies between pages."""


def test_a_runner_stopped_mid_log_resumes_and_ends_equal_to_a_clean_rebuild(council, read_models, clock):
    key = open_round(council)
    for unit in ("01", "79", "48"):
        full_self_assessment(council, key, unit)
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    head = council.recorder.max_notification_id()
    view = scratch(read_models, 7)
    first = Runner(council, view, page=37, follow_active=False)
    original = first.projection.process_batch

    def crash_after_300(events, start=None):
        if events[-1][0] > 300:
            raise Crash
        original(events, start)

    first.projection.process_batch = crash_after_300
    with pytest.raises(Crash):
        first.catch_up()
    stopped_at = view.position()
    assert 0 < stopped_at <= 300 < head
    Runner(council, view, page=53, follow_active=False).catch_up()
    try:
        assert_equal_to_a_clean_rebuild(read_models, view)
        positions = [row[0] for row in table(view, "audit")]
        assert positions == list(range(1, head + 1))
    finally:
        view.retire()


def test_two_writers_taking_turns_never_fold_from_a_stale_cache(council, read_models, clock):
    """Two runners on one generation (two workers, or a worker and `projections run`) take turns while the
    log grows: each finds the view moved by the other, so its cached aggregates are older than the view. They
    are reloaded, not used (the issue: OriginatorVersionError, a 500 on every read)."""
    key = open_round(council)
    view_a, view_b = scratch(read_models, 8), read_models.view(8)
    a = Runner(council, view_a, page=7, follow_active=False)
    b = Runner(council, view_b, page=7, follow_active=False)
    try:
        for turn in range(5):
            points = f"0.{turn}5"
            self_scores(council, key, "01", points)
            self_scores(council, key, "79", points, leaves=("1.1.1",))
            (a if turn % 2 == 0 else b).catch_up()
        a.catch_up()
        assert view_a.position() == council.recorder.max_notification_id()
        assert_equal_to_a_clean_rebuild(read_models, view_a)
    finally:
        view_a.retire()


def test_a_failed_batch_leaves_nothing_ahead_of_the_view(council, read_models):
    """The fold moves its cached aggregates before the write; a write that fails must not leave them there, or
    the next batch applies the same events to aggregates that already have them."""
    key = open_round(council)
    self_scores(council, key, "01", "0.25")
    view = scratch(read_models, 9)
    runner = Runner(council, view, page=500, follow_active=False)
    runner.catch_up()
    self_scores(council, key, "01", "0.50")
    self_scores(council, key, "48", "0.40")
    original = view.apply
    calls = []

    def fail_once(rows, tracking, start=None):
        calls.append(start)
        if len(calls) == 1:
            raise Crash("the write failed after the fold")
        original(rows, tracking, start)

    view.apply = fail_once
    with pytest.raises(Crash):
        runner.catch_up()
    runner.catch_up()
    try:
        assert len(calls) == 2
        assert view.position() == council.recorder.max_notification_id()
        assert_equal_to_a_clean_rebuild(read_models, view)
    finally:
        view.retire()


def test_a_view_has_one_writer_at_a_time(council, read_models):
    """While one writer holds a generation's lease, another writes nothing there and reports the position as
    it is; a rebuild into a generation whose lease is taken is refused."""
    key = open_round(council)
    self_scores(council, key, "01", "0.25")
    head = council.recorder.max_notification_id()
    live = read_models.runner
    holder = read_models.view(live.view.generation)
    with holder.writer() as held:
        assert held
        with read_models.view(live.view.generation).writer() as second:
            assert not second
        assert live.catch_up() == 0
        assert live.view.position() == 0
    assert live.catch_up() == head
    following = read_models.view(live.view.generation + 1)
    with following.writer() as held:
        assert held
        with pytest.raises(RebuildRunningError):
            read_models.rebuild()
    assert read_models.status()["generation"] == live.view.generation


def test_a_rebuild_that_died_is_started_again_never_resumed_into_emptied_tables(council, read_models, clock):
    """The issue: a rebuild killed at 60 %, then the next one resumed from the dead one's position into freshly
    emptied tables, switched, and `status` said lag 0 with 40 % of the rows missing."""
    key = open_round(council)
    for unit in ("01", "79"):
        full_self_assessment(council, key, unit)
    head = council.recorder.max_notification_id()
    active = read_models.status()["generation"]
    dead = read_models.view(active + 1)  # what the killed rebuild left: tables and a position part way
    dead.reset()
    crashed = Runner(council, dead, page=50, follow_active=False)
    original = crashed.projection.process_batch

    def die_at_60_percent(events, start=None):
        if events[-1][0] > 0.6 * head:
            raise Crash
        original(events, start)

    crashed.projection.process_batch = die_at_60_percent
    with pytest.raises(Crash):
        crashed.catch_up()
    assert 0 < dead.position() < head
    assert read_models.rebuild() == active + 1
    status = read_models.status()
    assert (status["generation"], status["position"], status["lag"]) == (active + 1, head, 0)
    live = read_models.fresh_view()
    assert [row[0] for row in table(live, "audit")] == list(range(1, head + 1))
    assert_equal_to_a_clean_rebuild(read_models, live)



@pytest.fixture
def every_score_event(council, clock):
    """A round on the published tree that records, beside what `played` records, every Score event it does not:
    evidence withdrawn, missing evidence explained, socio-economic targets, an explanation rejected."""
    clock.set(2025, 1, 15, 9)  # in the self-assessment window, also when `played` ran first
    council.open_round(RoundPlan(2025, "province-876-2022-v2", UNITS, WINDOWS), SECRETARIAT)
    key = "2025-province"
    full_self_assessment(council, key, "01", fraction=D(1))
    at = ScoreAddress(key, "01", "1.1.1")
    sha = council.score(at)["evidence"][0]["sha256"]
    council.withdraw_evidence(at, sha, "nhầm tệp", officer("01"))
    council.explain_missing_evidence(at, "Văn bản gốc đang lưu tại Văn phòng UBND, sẽ bổ sung", officer("01"))
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    version = council.score(at)["version"]
    council.propose(at, "0.00", version, SECRETARIAT, comment="chưa có tài liệu kiểm chứng")
    targets = {leaf.code: leaf.max_points for leaf in council.framework(key).leaves("targets")}
    council.record_targets(key, "01", targets, SECRETARIAT, source="Niên giám thống kê 2024")
    clock.set(2025, 3, 12, 9)
    council.advance_phase(key, "explanation", SECRETARIAT)
    council.file_explanation(at, ExplanationReport("Đã có văn bản gốc", "0.50"), officer("01"))
    clock.set(2025, 3, 21, 9)
    council.advance_phase(key, "council_review", SECRETARIAT)
    council.decide_explanation(at, "1", Decision(False, "Không có văn bản kèm theo"), council.score(at)["version"],
                               MOHA_MEMBER)
    return key


def test_a_rebuild_equals_the_live_views_for_the_score_events_played_leaves_out(council, read_models,
                                                                                every_score_event):
    live = read_models.fresh_view()
    rebuilt = read_models.view(read_models.rebuild(switch=False))
    try:
        for name in NAMES:
            assert table(rebuilt, name) == table(live, name), name
    finally:
        rebuilt.retire()


def test_the_rebuild_comparisons_exercise_every_score_event_the_rebuild_folds_from_the_stored_state(
        council, played, every_score_event):  # noqa: F811
    """A rebuild folds Score events from their stored JSON (projections/fold.py SCORE_EVENTS, a mirror of each
    event's `apply`), while live catch-up applies the domain events: the two equality tests compare them only for
    the event types their rounds record, so together they must record every one the mirror lists."""
    from eventsourcing.utils import resolve_topic

    from projections.fold import SCORE_EVENTS

    recorded, start = set(), 1
    while page := council.recorder.scan(start, 5000):
        recorded |= {resolve_topic(topic) for _, _, _, topic, _ in page}
        start = page[-1][0] + 1
    assert not [cls.__name__ for cls in SCORE_EVENTS if cls not in recorded]
