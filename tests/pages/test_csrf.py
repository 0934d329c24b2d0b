"""CSRF: every form of the pages needs its token (400 without it, nothing recorded); the API, which takes bearer
tokens and never the session cookie, needs none."""

from __future__ import annotations

import pytest

DECISION = "/rounds/{key}/units/01/scores/2.1.1/explanations/1/decision"


def decision_form(council, played) -> dict[str, str]:
    return {"decision": "accept", "points": "0.50", "reason": "Chấp nhận một phần",
            "version": str(council.score(played.disputed)["version"])}


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_decision_without_its_csrf_token_is_refused_with_400_and_records_nothing(as_, council, played, token):
    member = as_("moj")
    before = council.score(played.disputed)["version"]
    data = decision_form(council, played) | ({"csrf_token": token} if token else {})
    answer = member.client.post(DECISION.format(key=played.key), data=data)
    assert answer.status_code == 400
    assert "CSRF" in answer.get_data(as_text=True)
    assert council.score(played.disputed)["version"] == before


def test_the_login_and_logout_forms_need_their_csrf_token_too(browser, as_, tokens):
    assert browser.client.post("/login", data={"token": tokens["inspector"]}).status_code == 400
    inspector = as_("inspector")
    assert inspector.client.post("/logout").status_code == 400
    assert inspector.get("/").status_code == 200  # still signed in


def test_the_csrf_token_of_one_session_does_not_pass_in_another(as_, council, played):
    other = as_("inspector").csrf("/")
    answer = as_("moj").client.post(DECISION.format(key=played.key),
                                    data=decision_form(council, played) | {"csrf_token": other})
    assert answer.status_code == 400


def test_the_api_takes_a_write_without_any_csrf_token(app, tokens, council, played):
    version = council.score(played.disputed)["version"]
    answer = app.test_client().post(
        f"/api/v1/rounds/{played.key}/units/01/scores/2.1.1/explanations/1/decision",
        json={"accept": False, "reason": "Không đủ căn cứ"},
        headers={"Authorization": f"Bearer {tokens['moj']}", "If-Match": f'"{version}"'})
    assert answer.status_code == 201, answer.get_json()


def test_the_session_cookie_never_authenticates_the_api(as_):
    inspector = as_("inspector")
    assert inspector.get("/").status_code == 200
    answer = inspector.get("/api/v1/audit")
    assert answer.status_code == 401
    assert answer.get_json()["type"] == "unauthorized"
