"""An inspector reads a disputed score's timeline, as it is and as it was before the council's decision."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from council.cli.demo_round import ACCEPTED, ADJUSTED
from tests.browser import harness


def events(page: Any) -> list[Any]:
    return page.get_by_test_id("timeline-event").all()


def event_at(page: Any, shown_time: str) -> Any:
    """The one event whose time reads `shown_time` (ICT, dd/mm/yyyy HH:MM)."""
    found = [event for event in events(page) if shown_time in event.get_by_test_id("event-time").inner_text()]
    assert len(found) == 1, f"events at {shown_time}: {[e.inner_text() for e in events(page)]}"
    return found[0]


def set_as_of(page: Any, moment: str) -> None:
    """The as-of form, in the page's dd/mm/yyyy HH:MM (ICT), or its ISO form if the field is a datetime-local."""
    field = page.get_by_test_id("as-of-input")
    if field.get_attribute("type") == "datetime-local":
        day, clock = moment.split(" ")
        moment = "-".join(reversed(day.split("/"))) + "T" + clock
    field.fill(moment)
    with page.expect_navigation():
        page.get_by_test_id("as-of-submit").click()


def test_an_inspector_moves_a_disputed_timeline_before_the_councils_decision(page: Any,
                                                                              prepared: harness.PreparedRound):
    disputed = prepared.decided
    assert disputed.decided_at is not None
    decided = disputed.decided_at.strftime("%d/%m/%Y %H:%M")  # 24/03/2025 10:00, ICT
    harness.login(page, prepared.tokens["inspector"], disputed.timeline())
    assert page.url.endswith(disputed.timeline())
    assert (page.locator("html").get_attribute("lang") or "").startswith("vi")  # a Vietnamese browser's default

    mark = page.get_by_test_id("chain-mark")
    assert mark.get_attribute("data-verified") == "true"
    assert re.search(harness.shown_points(disputed.final), page.get_by_test_id("current-points").inner_text())
    everything = len(events(page))
    decision = event_at(page, decided)
    assert re.search(harness.shown_change(disputed.adjusted, disputed.final),
                     decision.get_by_test_id("event-points").inner_text())
    assert ACCEPTED in decision.get_by_test_id("event-reason").inner_text()
    assert harness.MEMBER.id in decision.get_by_test_id("event-actor").inner_text()
    assert decision.get_by_test_id("event-role").inner_text().strip()
    assert re.search(r"[0-9a-f]{8}", decision.get_by_test_id("event-hash").inner_text())

    before = (disputed.decided_at - timedelta(days=1)).strftime("%d/%m/%Y %H:%M")  # 23/03/2025 10:00
    set_as_of(page, before)
    assert "as_of=" in page.url or "version=" in page.url
    assert page.get_by_test_id("chain-mark").get_attribute("data-verified") == "true"
    earlier = events(page)
    assert 0 < len(earlier) < everything
    assert all(decided not in event.get_by_test_id("event-time").inner_text() for event in earlier)
    current = page.get_by_test_id("current-points").inner_text()
    assert re.search(harness.shown_points(disputed.adjusted), current), current
    adjustment = event_at(page, "20/02/2025 09:30")
    assert re.search(harness.shown_change(disputed.proposed, disputed.adjusted),
                     adjustment.get_by_test_id("event-points").inner_text())
    assert ADJUSTED in adjustment.get_by_test_id("event-reason").inner_text()
