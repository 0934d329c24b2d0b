"""What a page answers when the rules refuse: the 403 page for a reader out of scope (a unit officer on another
unit), and an error page with the API's status and title for the rest (the detail stays as the rule wrote it)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from api import problems
from api.pages import blp
from domain.errors import DomainError, PermissionDeniedError


def page(status: int, title: str, detail: str, template: str = "error.html") -> tuple[str, int]:
    return render_template(template, status=status, title=title, detail=detail), status


@blp.errorhandler(PermissionDeniedError)
def forbidden(error: PermissionDeniedError) -> tuple[str, int]:
    return page(403, gettext("Forbidden"), str(error), "forbidden.html")


@blp.errorhandler(DomainError)
def refused(error: DomainError) -> tuple[str, int]:
    return page(error.status, gettext(problems.domain_title(error)), str(error))


@blp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    """Werkzeug's errors (a form without its CSRF token is a 400, an unknown leaf's page a 404) as pages."""
    status = error.code or 500
    return page(status, gettext(error.name), gettext(error.description) if error.description else "")
