"""Server-rendered pages for the people who run the appraisal (issue 14): see docs/pages.md for the routes."""

from __future__ import annotations

from flask import Blueprint, Flask

blp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                static_url_path="/static/pages")



def register(app: Flask) -> None:
    """Pages, sessions, CSRF and translations on the app (called by api.create_app). CSRF is checked on the pages'
    forms only (login.signed_in): the API's blueprints take bearer tokens, never the session cookie.

    The views attach themselves to `blp` when their modules are imported, here rather than with the package: the
    API's modules use `api.pages.i18n` (problem titles, the XLSX's Vietnamese names) and the pages use theirs."""
    from api.pages import cookies, council_pages, error_pages, i18n, login, round_pages, unit_pages  # noqa: F401

    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=int(cookies.LIFETIME.total_seconds()))
    cookies.install(app)
    i18n.install(app)
    login.csrf.init_app(app)
    app.register_blueprint(blp)

