"""Signing in: a token becomes a session cookie (signed, HttpOnly, SameSite=Lax, the token sealed inside), checked
again on every request, so a revoked or replaced token ends the session; logging out ends it too."""

from __future__ import annotations

import base64
import zlib

from tests.pages.conftest import ADMIN, PEOPLE, Browser


def session_cookie(answer) -> str:
    found = [value for value in answer.headers.getlist("Set-Cookie") if value.startswith("council_session=")]
    assert found, answer.headers
    return found[-1]


def test_a_page_without_a_session_sends_to_the_login_with_the_way_back(browser):
    answer = browser.get("/audit?unit=01")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/audit?unit%3D01"


def test_the_login_exchanges_the_token_for_an_httponly_samesite_lax_cookie_that_does_not_show_it(browser, tokens):
    answer = browser.client.post("/login", data={"token": tokens["inspector"], "next": "/audit",
                                                 "csrf_token": browser.csrf()})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/audit")
    cookie = session_cookie(answer)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    payload = cookie.split("=", 1)[1].split(";")[0].lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    data = zlib.decompress(data) if cookie.split("=", 1)[1].startswith(".") else data
    assert tokens["inspector"].encode() not in data  # sealed: a cookie copied off a disk is no API token
    page = browser.get("/")
    assert page.status_code == 200
    assert "thanhtra@moha" in page.get_data(as_text=True)


def test_an_unknown_token_is_refused_and_signs_nobody_in(browser):
    answer = browser.client.post("/login", data={"token": "not-a-token", "csrf_token": browser.csrf()})
    assert answer.status_code == 401
    assert 'data-testid="flash"' in answer.get_data(as_text=True)
    assert browser.get("/").status_code == 302


def test_a_revoked_token_ends_the_session_at_the_next_request(as_, council):
    inspector = as_("inspector")
    assert inspector.get("/").status_code == 200
    council.revoke_principal(PEOPLE["inspector"][0], "rời cơ quan", ADMIN)
    answer = inspector.get("/")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/login?next=/")
    login = inspector.get("/login").get_data(as_text=True)
    assert "thu hồi" in login  # the flash says why, in Vietnamese
    assert inspector.get("/").status_code == 302  # and the session is gone


def test_a_replaced_token_ends_the_session_and_the_new_one_signs_in(as_, council, app):
    officer = as_("officer01")
    fresh = council.rotate_token(PEOPLE["officer01"][0], ADMIN)
    assert officer.get("/").status_code == 302
    assert Browser(app.test_client()).login(fresh).get("/").status_code == 200


def test_logging_out_ends_the_session(as_):
    inspector = as_("inspector")
    answer = inspector.post("/logout", {})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/login")
    assert inspector.get("/").status_code == 302


def test_the_way_back_after_the_login_never_leaves_the_site(browser, tokens):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/logout"):
        answer = browser.client.post("/login", data={"token": tokens["inspector"], "next": target,
                                                     "csrf_token": browser.csrf()})
        assert answer.headers["Location"] == "/", target


def test_the_session_needs_no_secret_in_code_it_follows_council_secret_key(app, env, settings, clock, tokens):
    """COUNCIL_SECRET_KEY, when set, is the secret: a cookie made under another secret is nobody's session."""
    from api import create_app

    other = create_app({"TESTING": True, "COUNCIL_ENV": {**env, "COUNCIL_SECRET_KEY": "x" * 40},
                        "COUNCIL_CLOCK": clock})
    try:
        signed = Browser(app.test_client()).login(tokens["inspector"])
        stranger = other.test_client()
        stranger.set_cookie("council_session", signed.client.get_cookie("council_session").value)
        assert stranger.get("/").status_code == 302
        assert Browser(other.test_client()).login(tokens["inspector"]).get("/").status_code == 200
    finally:
        other.extensions["par-council"].close()


def test_a_form_sent_without_a_session_leads_to_the_login_and_is_not_sent_again(browser, played):
    answer = browser.client.post(f"/rounds/{played.key}/units/01/scores/2.1.1/explanations/1/decision",
                                 data={"decision": "reject", "reason": "x", "version": "9"})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/login")
