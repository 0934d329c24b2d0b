"""Languages: every page in Vietnamese with ICT times (dd/mm/yyyy HH:MM) by default, in English with ?lang=en (kept in
the session) or Accept-Language; the API's problem titles follow Accept-Language, English when none is sent."""

from __future__ import annotations

import re

import pytest

ICT_TIME = re.compile(r"\b[0-3][0-9]/[01][0-9]/20[0-9]{2} [0-2][0-9]:[0-5][0-9]\b")
# (who, page, Vietnamese text, the same text in English, an ICT time the page must show or None)
PAGES = [
    ("inspector", "/", "Các đợt thẩm định", "Appraisal rounds", None),
    ("inspector", "/rounds/{key}/results", "Đồng bằng sông Hồng", "Red River Delta", None),
    ("officer01", "/rounds/{key}/units/01/dossier", "Thời hạn giải trình", "Explanation window",
     "10/03/2025 00:00"),
    ("inspector", "/rounds/{key}/units/01/scores/2.1.1/timeline", "Hội đồng điều chỉnh điểm",
     "adjusted by the council", "20/02/2025 09:30"),
    ("secretariat", "/audit?unit=01&leaf=2.1.1", "Nhật ký thay đổi", "Audit trail", "20/02/2025 09:30"),
    ("moj", "/queue", "Giải trình chờ quyết định", "Explanations to decide", "12/03/2025 09:00"),
]


def text(answer) -> str:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:400]
    return answer.get_data(as_text=True)


@pytest.mark.parametrize(("who", "path", "vietnamese", "english", "time"), PAGES)
def test_every_page_speaks_vietnamese_with_ict_times_by_default_and_english_with_lang_en(
        as_, played, who, path, vietnamese, english, time):
    person = as_(who)
    page = text(person.get(path.format(key=played.key)))
    assert '<html lang="vi">' in page and vietnamese in page and english not in page
    assert time is None or time in page
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", page)  # no ISO or UTC times
    separator = "&" if "?" in path else "?"
    page = text(person.get(path.format(key=played.key) + f"{separator}lang=en"))
    assert '<html lang="en">' in page and english in page
    assert time is None or time in page  # English readers get ICT too


def test_english_is_remembered_in_the_session_until_vietnamese_is_asked_for(as_, played):
    inspector = as_("inspector")
    assert "Appraisal rounds" in text(inspector.get("/?lang=en"))
    assert "Results of round" in text(inspector.get(f"/rounds/{played.key}/results"))
    assert "Các đợt thẩm định" in text(inspector.get("/?lang=vi"))


def test_a_browser_that_prefers_english_gets_english(as_, played):
    inspector = as_("inspector")
    assert "Appraisal rounds" in text(inspector.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert "Các đợt thẩm định" in text(inspector.get("/", headers={"Accept-Language": "vi-VN,en;q=0.5"}))


def test_roles_events_and_phases_are_named_in_vietnamese(as_, played):
    page = text(as_("inspector").get(played.timeline()))
    for name in ("cán bộ đơn vị", "Tổ Thư ký", "thành viên Hội đồng thẩm định", "gửi báo cáo giải trình",
                 "đề xuất điểm thẩm định"):
        assert name in page
    assert "Hội đồng xem xét" in text(as_("inspector").get("/"))


def test_the_login_page_is_vietnamese_too(browser):
    page = text(browser.get("/login"))
    assert "Đăng nhập" in page and "Mã truy cập" in page


def problem(client, path: str, language: str | None, token: str | None = None):
    headers = {"Accept-Language": language} if language else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(path, headers=headers)


@pytest.mark.parametrize(("language", "title"), [(None, "Unauthorized"), ("en-US,en", "Unauthorized"),
                                                 ("vi", "Chưa xác thực"), ("vi-VN,vi;q=0.9,en;q=0.8", "Chưa xác thực"),
                                                 ("en;q=0.9,vi;q=0.5", "Unauthorized"), ("fr", "Unauthorized")])
def test_problem_titles_follow_accept_language_and_stay_english_without_it(app, language, title):
    answer = problem(app.test_client(), "/api/v1/audit", language)
    assert answer.status_code == 401
    assert answer.get_json()["title"] == title
    assert answer.get_json()["type"] == "unauthorized"  # the type, what clients act on, never changes
    assert "Accept-Language" in answer.headers["Vary"]


def test_a_domain_errors_title_is_vietnamese_when_asked(app, tokens, played):
    path = f"/api/v1/rounds/{played.key}/units/79/dossier"
    english = problem(app.test_client(), path, None, tokens["officer01"]).get_json()
    vietnamese = problem(app.test_client(), path, "vi", tokens["officer01"]).get_json()
    assert (english["type"], english["title"]) == ("forbidden-scope", "Forbidden scope")
    assert (vietnamese["type"], vietnamese["title"]) == ("forbidden-scope", "Ngoài phạm vi được phép")
    assert vietnamese["detail"] == english["detail"]
