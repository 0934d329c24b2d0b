"""A unit officer's pages answer only for their own unit; without a session every page asks for the login."""

from __future__ import annotations

from typing import Any

from tests.browser import harness


def test_a_unit_officer_gets_the_403_page_for_another_units_dossier_and_timeline(page: Any,
                                                                                 prepared: harness.PreparedRound):
    key = prepared.key
    harness.login(page, prepared.tokens["officer_79"], f"/rounds/{key}/units/79/dossier")
    own = page.get_by_test_id("dossier-table")
    own.wait_for()
    assert page.get_by_test_id("leaf-row").count() > 0

    for other in (f"/rounds/{key}/units/01/dossier", prepared.decided.timeline()):
        answer = page.goto(other)
        assert answer is not None and answer.status == 403, other
        assert page.get_by_test_id("forbidden").is_visible()
        assert page.get_by_test_id("dossier-table").count() == 0
        assert page.get_by_test_id("timeline-event").count() == 0


def test_a_page_without_a_session_sends_to_the_login_and_back(page: Any, prepared: harness.PreparedRound):
    path = f"/rounds/{prepared.key}/units/01/dossier"
    page.goto(path)
    assert "/login" in page.url
    page.get_by_test_id("login-token").fill(prepared.tokens["officer_01"])
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("dossier-table").wait_for()
    assert page.url.endswith(path)
