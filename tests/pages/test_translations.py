"""The catalogues: every text the pages mark is translated into Vietnamese, the committed .mo files hold exactly what
their .po files say (they are what Flask-Babel loads, with no build step), and every domain error has a Vietnamese
problem title."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import api  # noqa: F401  (every module that defines a DomainError is imported)
from api import problems
from api.pages import i18n
from domain.errors import DomainError

PAGES = Path(i18n.__file__).parent
KEYWORDS = {"_": None, "gettext": None, "_l": None, "N_": None}


def catalogue(language: str, suffix: str):
    path = i18n.TRANSLATIONS / language / "LC_MESSAGES" / f"messages.{suffix}"
    with path.open("rb") as found:
        return (read_po if suffix == "po" else read_mo)(found)


@functools.cache
def marked() -> frozenset[str]:
    """Every message the sources mark, found as `pybabel extract -F api/pages/babel.cfg -k _l` finds them."""
    with (PAGES / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    return frozenset(message[2] for message in extract_from_dir(str(PAGES), method_map, options_map,
                                                                keywords=KEYWORDS) if isinstance(message[2], str))


def test_every_marked_message_is_translated_into_vietnamese():
    vietnamese = {message.id: message.string for message in catalogue("vi", "po") if message.id}
    missing = sorted(text for text in marked() if not vietnamese.get(text))
    assert missing == [], "add them to api/pages/translations/vi/LC_MESSAGES/messages.po (docs/pages.md)"


def test_the_catalogues_hold_no_message_the_sources_lost():
    for language in i18n.LANGUAGES:
        stale = sorted(message.id for message in catalogue(language, "po") if message.id and message.id not in marked())
        assert stale == [], language


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_compiled_catalogue_holds_what_its_po_file_says(language):
    written = {message.id: message.string for message in catalogue(language, "po") if message.id}
    compiled = {message.id: message.string for message in catalogue(language, "mo") if message.id}
    assert compiled == written, "run: pybabel compile -d api/pages/translations (docs/pages.md)"


def every_domain_error(kind: type[DomainError] = DomainError) -> set[type[DomainError]]:
    found = {kind}
    for sub in kind.__subclasses__():
        found |= every_domain_error(sub)
    return found


def test_every_domain_error_has_a_vietnamese_problem_title():
    untranslated = sorted(title for title in {problems.domain_title(kind) for kind in every_domain_error()}
                          if i18n.translated(title, "vi") == title)
    assert untranslated == [], "add them to api/pages/titles.py and the catalogues"
