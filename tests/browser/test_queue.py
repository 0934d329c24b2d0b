"""A council member decides open explanations from the queue (accept with points, reject with a reason); each leaves
the queue and the score's timeline shows the decision."""

from __future__ import annotations

import re
from typing import Any

from tests.browser import harness

DECIDED_POINTS = "0.60"
REJECT_REASON = "Tài liệu bổ sung ban hành sau thời điểm đánh giá."


def queued(page: Any, prepared: harness.PreparedRound, dispute: harness.Dispute) -> list[Any]:
    """The queue's items naming the dispute's leaf and unit."""
    name = prepared.units[dispute.unit]
    return [item for item in page.get_by_test_id("queue-item").all()
            if dispute.leaf in (text := item.inner_text()) and name in text]


def test_a_council_member_accepts_and_rejects_open_explanations_from_the_queue(page: Any,
                                                                               prepared: harness.PreparedRound):
    dispute = prepared.open
    harness.login(page, prepared.tokens["council"], "/queue")
    assert page.url.endswith("/queue")
    assert page.get_by_test_id("queue-item").count() == 2, page.get_by_test_id("queue-item").all_inner_texts()
    assert queued(page, prepared, prepared.other_field) == [], "field 2 is not the member's: not in the queue"
    assert queued(page, prepared, prepared.decided) == [], "a decided explanation is not queued"
    assert len(queued(page, prepared, prepared.waiting)) == 1
    items = queued(page, prepared, dispute)
    assert len(items) == 1, page.get_by_test_id("queue-item").all_inner_texts()

    item = items[0]
    item.get_by_test_id("decide-points").fill(DECIDED_POINTS)
    item.get_by_test_id("decide-reason").fill(harness.OPEN_REASON)
    with page.expect_navigation():
        item.get_by_test_id("decide-accept").click()
    assert page.url.endswith("/queue")
    assert page.get_by_test_id("flash").first.inner_text().strip()
    assert queued(page, prepared, dispute) == []
    assert len(queued(page, prepared, prepared.waiting)) == 1, "the other open explanation stays"

    page.goto(dispute.timeline())
    decision = [event for event in page.get_by_test_id("timeline-event").all()
                if harness.OPEN_REASON in event.get_by_test_id("event-reason").inner_text()]
    assert len(decision) == 1, page.get_by_test_id("timeline-event").all_inner_texts()
    assert re.search(harness.shown_change(dispute.adjusted, DECIDED_POINTS),
                     decision[0].get_by_test_id("event-points").inner_text())
    assert harness.MEMBER.id in decision[0].get_by_test_id("event-actor").inner_text()
    assert re.search(harness.shown_points(DECIDED_POINTS), page.get_by_test_id("current-points").inner_text())
    assert page.get_by_test_id("chain-mark").get_attribute("data-verified") == "true"

    page.goto("/queue")  # the other one, rejected with a reason: the queue is empty, the points stay
    waiting = prepared.waiting
    item = queued(page, prepared, waiting)[0]
    item.get_by_test_id("decide-reason").fill(REJECT_REASON)
    with page.expect_navigation():
        item.get_by_test_id("decide-reject").click()
    assert page.get_by_test_id("flash").first.inner_text().strip()
    assert page.get_by_test_id("queue-item").count() == 0
    page.goto(waiting.timeline())
    assert any(REJECT_REASON in text for text in page.get_by_test_id("event-reason").all_inner_texts())
    assert re.search(harness.shown_points(waiting.adjusted), page.get_by_test_id("current-points").inner_text())
