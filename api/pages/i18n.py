"""Languages: the pages in Vietnamese by default (English with ?lang=en or Accept-Language), the API's problem titles
in Vietnamese when the client asks for it; the names people read for roles, events, phases and regions; times in
ICT as dd/mm/yyyy HH:MM, points with two decimals."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import support
from flask import Flask, request, session, url_for
from flask_babel import Babel, get_locale, gettext
from flask_babel import lazy_gettext as _l

from council.services.deadline_service import ICT
from domain.score import SILENCE

TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGES = ("vi", "en")  # the first is the pages' default
TWO = Decimal("0.01")
NOTHING = "—"

ROLES = {"admin": _l("administrator"), "secretariat": _l("Secretariat"), "council": _l("council member"),
         "unit": _l("unit officer"), "inspector": _l("inspector"), "system": _l("system")}
PHASES = {"self_assessment": _l("self-assessment"), "appraisal": _l("appraisal"), "explanation": _l("explanation"),
          "council_review": _l("council review"), "finalized": _l("finalized"), "published": _l("published")}
WINDOWS = {"self_assessment": _l("Self-assessment window"), "explanation": _l("Explanation window")}
LEVELS = {"province": _l("provinces"), "ministry": _l("ministries")}
REGIONS = {"national": _l("National"), "Red River Delta": _l("Red River Delta"),
           "Northern Midlands and Mountains": _l("Northern Midlands and Mountains"),
           "North Central and Central Coast": _l("North Central and Central Coast"),
           "Central Highlands": _l("Central Highlands"), "South-East": _l("South-East"),
           "Mekong River Delta": _l("Mekong River Delta")}
STATES = {"open": _l("open"), "accepted": _l("accepted"), "rejected": _l("rejected")}
METHODS = {"appraisal": _l("appraised"), "survey": _l("survey"), "targets": _l("socio-economic targets")}
EVENTS = {
    "opened": _l("opened"), "self-scored": _l("self-scored"), "evidence-attached": _l("evidence attached"),
    "evidence-withdrawn": _l("evidence withdrawn"), "missing-evidence-explained": _l("missing evidence explained"),
    "appraisal-proposed": _l("appraisal proposed"), "council-adjusted": _l("adjusted by the council"),
    "explanation-filed": _l("explanation filed"), "explanation-accepted": _l("explanation accepted"),
    "explanation-rejected": _l("explanation rejected"), "preliminary-accepted": _l("preliminary result accepted"),
    "survey-scored": _l("survey points recorded"), "targets-scored": _l("target points recorded"),
    "finalized": _l("finalized"), "phase-advanced": _l("phase advanced"), "window-extended": _l("window extended"),
    "council-meeting-held": _l("council meeting held"), "results-approved": _l("results approved"),
    "results-announced": _l("results announced"), "submitted": _l("self-assessment submitted"),
    "preliminary-released": _l("preliminary results released"), "window-closed": _l("window closed"),
    "reminder-issued": _l("reminder issued"), "reminder-delivered": _l("reminder delivered"),
    "registered": _l("principal registered"), "revoked": _l("principal revoked"),
    "token-rotated": _l("token replaced"), "issued": _l("token issued"), "uploaded": _l("file stored"),
    "uploaded-again": _l("file stored again"), "checkpoint-signed": _l("checkpoint signed"),
}

# Reasons the system itself records (people's reasons are shown as they wrote them).
SYSTEM_REASONS = {SILENCE: _l("no explanation filed by the close of the window")}


def named(names: dict[str, Any]) -> Any:
    """A Jinja helper: the name people read for a machine name, the machine name itself when it has none."""
    return lambda key: NOTHING if key is None else str(names.get(key, key))


def selected_locale() -> str:
    """?lang= (remembered in the session by `remember_language`), else the session's, else Accept-Language."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    return session.get("lang") or preferred(LANGUAGES)


def preferred(languages: tuple[str, ...]) -> str:
    """The first of the client's Accept-Language (best first) whose primary subtag is one of `languages`; the first
    of `languages` otherwise. Werkzeug's best_match would take `en` over `vi-VN` in "vi-VN,en;q=0.5"."""
    for value, _quality in request.accept_languages:
        primary = value.split("-")[0].lower()
        if primary in languages:
            return primary
    return languages[0]


def remember_language() -> None:
    if request.args.get("lang") in LANGUAGES:
        session["lang"] = request.args["lang"]


def with_language(language: str) -> str:
    """This page again (its path and query kept) in `language`."""
    return url_for(request.endpoint or "pages.home", **{**(request.view_args or {}), **request.args.to_dict(),
                                                        "lang": language})


@functools.cache
def catalogue(language: str) -> support.NullTranslations:
    return support.Translations.load(str(TRANSLATIONS), [language], "messages")


def translated(text: str, language: str) -> str:
    """`text` in `language` from the pages' catalogues, outside Flask-Babel's choice of locale (the API's own)."""
    return catalogue(language).gettext(text)


def names_in(names: dict[str, Any], language: str) -> dict[str, str]:
    """One of the tables above in `language`, whatever the request's locale (the XLSX exports are in Vietnamese):
    the catalogues stay the one place these names are translated. A table's values are lazy_gettext strings,
    whose first argument is the message id."""
    return {key: translated(label._args[0], language) for key, label in names.items()}


def ict(moment: datetime | str | None) -> str:
    """A time as officials read it: in ICT (UTC+7), dd/mm/yyyy HH:MM."""
    if moment is None or moment == "":
        return NOTHING
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ICT).strftime("%d/%m/%Y %H:%M")


def points(value: object) -> str:
    """Points with two decimals and a point, as the API and the forms write them (7.10, never 7.1)."""
    return NOTHING if value is None or value == "" else str(Decimal(str(value)).quantize(TWO))


def time_left(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86400)
    return gettext("%(days)d d %(hours)d h %(minutes)d min left", days=days, hours=rest // 3600,
                   minutes=rest % 3600 // 60)


def install(app: Flask) -> None:
    Babel(app, locale_selector=selected_locale, default_locale=LANGUAGES[0],
          default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.filters.update(ict=ict, points=points, time_left=time_left)
    app.jinja_env.globals.update(
        role_name=named(ROLES), phase_name=named(PHASES), window_name=named(WINDOWS), level_name=named(LEVELS),
        region_name=named(REGIONS), state_name=named(STATES), event_name=named(EVENTS),
        method_name=named(METHODS), reason_text=lambda text: str(SYSTEM_REASONS.get(text, text)),
        with_language=with_language, current_language=lambda: str(get_locale()))
