"""A council member's queue: the open explanations of their fields, each decided from its form through the same
service and write guard as the API; the score's history then shows the decision by that member."""

from __future__ import annotations

import re
from decimal import Decimal

from tests.pages.conftest import PEOPLE

REASON = "Tài liệu bổ sung chứng minh đạt yêu cầu một phần"


def items(page: str) -> list[str]:
    return re.findall(r'<section class="queue-item" data-testid="queue-item"[^>]*>', page)


def decide(member, played, version: int | str, follow: bool = False, **form: str):
    path = f"/rounds/{played.key}/units/01/scores/2.1.1/explanations/1/decision"
    return member.post(path, {"version": str(version), **form}, token_from="/queue", follow_redirects=follow)


def test_the_queue_holds_the_open_explanations_of_the_members_fields_only(as_, played):
    moj = as_("moj").get("/queue").get_data(as_text=True)
    assert [re.search(r'data-unit="(\w+)" data-leaf="([\d.]+)"', item).groups() for item in items(moj)] == [
        ("01", "2.1.1")]
    assert 'data-testid="decide-accept"' in moj and 'data-testid="decide-reject"' in moj
    moha = as_("moha").get("/queue").get_data(as_text=True)
    assert [re.search(r'data-leaf="([\d.]+)"', item).group(1) for item in items(moha)] == ["1.1.1"]


def test_a_council_member_decides_from_the_queue_and_the_history_shows_it_by_that_member(as_, played, council):
    member = as_("moj")
    version = council.score(played.disputed)["version"]
    answer = decide(member, played, version, decision="accept", points="0.50", reason=REASON)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/queue")
    page = member.get("/queue").get_data(as_text=True)
    assert 'data-testid="flash"' in page and "Đã chấp nhận giải trình" in page
    assert items(page) == []  # decided: out of the queue
    history = council.history(played.disputed)
    decision = history["events"][-1]
    assert (decision["type"], decision["reason"], decision["points_after"]) == (
        "explanation-accepted", REASON, Decimal("0.50"))
    assert decision["actor"]["id"] == PEOPLE["moj"][0] and decision["request_id"]
    timeline = as_("inspector").get(played.timeline()).get_data(as_text=True)
    assert REASON in timeline and "0.25 → 0.50" in timeline and PEOPLE["moj"][0] in timeline


def test_a_rejection_needs_no_points(as_, played, council):
    version = council.score(played.disputed)["version"]
    assert decide(as_("moj"), played, version, decision="reject", reason="Không đủ căn cứ").status_code == 303
    assert council.history(played.disputed)["events"][-1]["type"] == "explanation-rejected"


def test_a_stale_version_or_a_missing_reason_is_told_in_a_flash_and_records_nothing(as_, played, council):
    member = as_("moj")
    version = council.score(played.disputed)["version"]
    for stale, reason, points in ((1, REASON, "0.50"), (0, " ", "0.50"), (0, REASON, "9.99"), (0, REASON, "")):
        answer = decide(member, played, version - stale, decision="accept", points=points, reason=reason)
        assert (answer.status_code, answer.headers["Location"]) == (303, "/queue")
        flash = member.get("/queue").get_data(as_text=True)
        assert 'class="flash error"' in flash
    assert council.score(played.disputed)["version"] == version
    assert "Xung đột phiên bản" in decide(member, played, version - 1, follow=True, decision="reject",
                                          reason=REASON).get_data(as_text=True)


def test_a_member_outside_the_field_gets_the_403_page_and_records_nothing(as_, played, council):
    version = council.score(played.disputed)["version"]
    answer = decide(as_("moha"), played, version, decision="reject", reason=REASON)
    assert answer.status_code == 403 and 'data-testid="forbidden"' in answer.get_data(as_text=True)
    assert council.score(played.disputed)["version"] == version


def test_a_form_that_is_not_a_decision_is_a_400(as_, played, council):
    version = council.score(played.disputed)["version"]
    assert decide(as_("moj"), played, version, decision="maybe", reason=REASON).status_code == 400
    assert decide(as_("moj"), played, "v1", decision="reject", reason=REASON).status_code == 400


def test_a_token_revoked_after_the_form_was_read_decides_nothing(as_, played, council):
    from tests.pages.conftest import ADMIN

    member = as_("moj")
    version = council.score(played.disputed)["version"]
    csrf = member.csrf("/queue")
    council.revoke_principal(PEOPLE["moj"][0], "hết nhiệm kỳ", ADMIN)
    answer = member.client.post(f"/rounds/{played.key}/units/01/scores/2.1.1/explanations/1/decision",
                                data={"version": version, "decision": "reject", "reason": REASON, "csrf_token": csrf})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert council.score(played.disputed)["version"] == version


def test_a_revocation_that_commits_between_the_session_check_and_the_decision_refuses_it(
        as_, played, council, monkeypatch):
    """The page's write runs under the request's write guard, as the API's do (council/services/write_guard.py)."""
    from api.pages import council_pages
    from tests.pages.conftest import ADMIN

    class RevokedMeanwhile:
        def __getattr__(self, name):
            return getattr(council, name)

        def decide_explanation(self, *args, **kwargs):
            council.revoke_principal(PEOPLE["moj"][0], "thu hồi trong lúc quyết định", ADMIN)
            return council.decide_explanation(*args, **kwargs)

    member = as_("moj")
    version = council.score(played.disputed)["version"]
    monkeypatch.setattr(council_pages, "council", RevokedMeanwhile)
    answer = decide(member, played, version, follow=True, decision="reject", reason=REASON)
    assert "Quyền truy cập đã bị thu hồi" in answer.get_data(as_text=True)
    assert council.score(played.disputed)["version"] == version
