"""Server-rendered pages for the people who run the appraisal (issue 14): see docs/pages.md for the routes."""

from __future__ import annotations

from flask import Blueprint, Flask

blp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                static_url_path="/static/pages")


def register(app: Flask) -> None:
    """Pages, sessions, CSRF and translations on the app (called by api.create_app)."""
    app.register_blueprint(blp)
