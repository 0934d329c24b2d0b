"""A score's timeline: every event with its actor, role, ICT time, points before → after, reason, request id and
hash; the chain's verdict; and the score as of a chosen time (to the end of that minute) or version."""

from __future__ import annotations

import re

import pytest

from domain.ids import score_id
from tests.pages.conftest import ADJUSTED_REASON, ARGUMENT
from tests.tampering import execute


def rows(page: str) -> list[str]:
    return re.findall(r'<tr data-testid="timeline-event".*?</tr>', page, flags=re.S)


def cell(row: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</t?[dc]', row, flags=re.S)
    assert found, (name, row)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def current(page: str) -> str:
    return re.search(r'data-testid="current-points">([^<]*)<', page).group(1)


def test_each_event_shows_actor_role_ict_time_points_reason_request_and_hash(as_, played, council):
    page = as_("inspector").get(played.timeline()).get_data(as_text=True)
    events = rows(page)
    history = council.history(played.disputed)
    assert len(events) == len(history["events"])
    adjusted = next(row for row in events if ADJUSTED_REASON in row)
    assert cell(adjusted, "event-actor").startswith("member@moj")
    assert cell(adjusted, "event-role") == "thành viên Hội đồng thẩm định"
    assert cell(adjusted, "event-time") == played.adjusted_at
    assert cell(adjusted, "event-points") == "0.75 → 0.25"
    recorded = next(e for e in history["events"] if e["type"] == "council-adjusted")
    assert cell(adjusted, "event-hash") == recorded["hash"]
    assert cell(adjusted, "event-request-id") == recorded["request_id"]
    assert 'data-testid="chain-mark" data-verified="true"' in page
    assert current(page) == "0.25"
    assert ARGUMENT in page and 'data-testid="evidence-link"' in page


def test_as_of_a_time_before_the_adjustment_shows_the_earlier_points(as_, played):
    inspector = as_("inspector")
    earlier = inspector.get(played.timeline() + "?as_of=20/02/2025 09:29").get_data(as_text=True)
    assert current(earlier) == "0.75"
    assert ADJUSTED_REASON not in earlier and 'value="20/02/2025 09:29"' in earlier
    assert 'data-verified="true"' in earlier
    # the minute an event is shown at includes it
    assert current(inspector.get(played.timeline() + f"?as_of={played.adjusted_at}").get_data(as_text=True)) == "0.25"
    # a datetime-local input's form is taken too
    assert current(inspector.get(played.timeline() + "?as_of=2025-02-20T09:29").get_data(as_text=True)) == "0.75"


def test_as_of_a_version(as_, played, council):
    page = as_("inspector").get(played.timeline() + "?version=2").get_data(as_text=True)
    assert len(rows(page)) == 2 and current(page) == "0.75"  # opened, then self-scored at full marks (0.75)


def test_as_of_a_time_before_the_first_event_shows_nothing_yet(as_, played):
    page = as_("inspector").get(played.timeline() + "?as_of=01/01/2020 00:00").get_data(as_text=True)
    assert rows(page) == [] and current(page) == "—"


@pytest.mark.parametrize("query", ["as_of=2025-02-20", "as_of=31/02/2025 10:00", "version=two", "version=-1"])
def test_a_cut_that_is_not_a_time_or_a_version_is_a_400_page(as_, played, query):
    answer = as_("inspector").get(played.timeline() + f"?{query}")
    assert answer.status_code == 400 and "text/html" in answer.content_type


def test_a_broken_chain_is_marked_and_nothing_after_the_break_is_shown(as_, played, env):
    stream = score_id(played.key, "01", "2.1.1").hex
    execute(env, [(f"DELETE FROM {{table}} WHERE originator_version = 3 AND originator_id = '{stream}'", [])])
    page = as_("inspector").get(played.timeline()).get_data(as_text=True)
    assert 'data-testid="chain-mark" data-verified="false"' in page
    assert "Chuỗi băm bị đứt tại phiên bản 3" in page
    assert len(rows(page)) == 2
