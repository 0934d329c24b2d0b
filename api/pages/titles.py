"""Texts made elsewhere that people read translated: the problem titles (from the domain's error types, werkzeug's
HTTP names, the API's own), and Flask-WTF's CSRF messages. Marked here so that `pybabel extract` keeps them in the
catalogues; tests/pages/test_translations.py fails when a domain error type has no Vietnamese title."""

from __future__ import annotations


def N_(text: str) -> str:  # gettext's name for "mark for translation, translate later"
    return text


HTTP = (
    N_("Bad Request"), N_("Unauthorized"), N_("Forbidden"), N_("Not Found"), N_("Method Not Allowed"),
    N_("Not Acceptable"), N_("Conflict"), N_("Precondition Failed"), N_("Request Entity Too Large"),
    N_("Unsupported Media Type"), N_("Unprocessable Entity"), N_("Precondition Required"), N_("Too Many Requests"),
    N_("Internal Server Error"), N_("Service Unavailable"), N_("Database Not Initialized"),
)
DOMAIN = (
    N_("Already exists"), N_("Already submitted"), N_("Domain error"), N_("Empty evidence"),
    N_("Evidence already attached"), N_("Explanation already open"), N_("Explanation not open"), N_("Forbidden"),
    N_("Forbidden role"), N_("Forbidden scope"), N_("Incomplete submission"), N_("Invalid document"),
    N_("Invalid framework"), N_("Invalid points"), N_("Invalid principal"), N_("Invalid query"), N_("Invalid round"),
    N_("Invalid step"), N_("Ledger incomplete"), N_("No signing key"), N_("Not found"), N_("Not survey leaf"),
    N_("Not targets leaf"), N_("Open explanations"), N_("Payload too large"), N_("Points off grid"),
    N_("Points out of range"), N_("Principal revoked"), N_("Published by announcement"), N_("Reason required"),
    N_("Rebuild running"), N_("Round finished"), N_("Step already recorded"), N_("Step date"),
    N_("Step out of order"), N_("Survey leaf"), N_("Unsound log"), N_("Unsupported media type"),
    N_("Version conflict"), N_("View behind"), N_("Window closed"), N_("Window open"), N_("Window over"),
    N_("Windows overlap"), N_("Wrong phase"),
)
CSRF = (
    N_("The CSRF token is missing."), N_("The CSRF session token is missing."), N_("The CSRF token is invalid."),
    N_("The CSRF token has expired."), N_("The CSRF tokens do not match."),
)
