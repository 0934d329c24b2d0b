"""The views: a rebuild equals the live tables row for row; a runner stopped mid-log resumes exactly once."""

from __future__ import annotations

import pytest

from projections.runner import Runner, open_view
from projections.tables import NAMES, TABLES
from tests.builders import SECRETARIAT, full_self_assessment, open_round
from tests.integration.test_whole_round import played  # noqa: F401  (a whole round, as a fixture)


def table(view, name: str) -> list[tuple]:
    names = TABLES[name]._fields
    rows = view.query(f"SELECT * FROM {{{name}}} ORDER BY {', '.join(names)}")
    return [tuple(row[c] for c in names) for row in rows]


def test_a_rebuild_equals_the_views_kept_up_to_date_while_the_round_was_played(council, read_models,
                                                                               played):  # noqa: F811
    live = read_models.fresh_view()
    generation = read_models.rebuild(switch=False)
    rebuilt = open_view(read_models.env, generation=generation)
    try:
        for name in NAMES:
            assert table(rebuilt, name) == table(live, name), name
        assert len(table(live, "audit")) == council.recorder.max_notification_id()
        assert rebuilt.position() == live.position() == council.recorder.max_notification_id()
    finally:
        rebuilt.drop_view_tables()
        rebuilt.close()


def test_readers_switch_to_the_rebuilt_tables_and_see_the_same_results(read_models, played):  # noqa: F811
    before = read_models.results(played)
    old = read_models.runner.view.generation
    assert read_models.rebuild() == old + 1
    assert read_models.status()["generation"] == old + 1
    assert read_models.results(played) == before


class Crash(Exception):
    """Injected failure: the runner dies between pages."""


def test_a_runner_stopped_mid_log_resumes_and_ends_equal_to_a_clean_rebuild(council, read_models, clock):
    key = open_round(council)
    for unit in ("01", "79", "48"):
        full_self_assessment(council, key, unit)
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    head = council.recorder.max_notification_id()
    view = open_view(read_models.env, generation=7)
    view.create_view_tables()
    first = Runner(council, view, page=37, follow_active=False)
    original = first.projection.process_batch

    def crash_after_300(events):
        if events[-1][0] > 300:
            raise Crash
        original(events)

    first.projection.process_batch = crash_after_300
    with pytest.raises(Crash):
        first.catch_up()
    stopped_at = view.position()
    assert 0 < stopped_at <= 300 < head
    Runner(council, view, page=53, follow_active=False).catch_up()
    clean = open_view(read_models.env, generation=read_models.rebuild(switch=False))
    try:
        for name in NAMES:
            assert table(view, name) == table(clean, name), name
        positions = [row[0] for row in table(view, "audit")]
        assert positions == list(range(1, head + 1))
    finally:
        for generated in (view, clean):
            generated.drop_view_tables()
            generated.close()
