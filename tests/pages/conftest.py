"""The pages through Flask's test client: an app on SQLite, its people with their tokens, a round played to the
council's review with explanations open, and a browser-like client that signs in through the login form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from council.services import Council
from council.services.appraisal_service import ExplanationReport
from council.services.principal_service import Scope
from domain.values import Actor, Role, ScoreAddress
from tests.api import conftest as api_tests
from tests.builders import MOHA_MEMBER, MOJ_MEMBER, SECRETARIAT, full_self_assessment, officer, open_round

ADMIN = Actor(id="cli:test", role=Role.ADMIN)
PEOPLE = {
    "inspector": ("thanhtra@moha", "inspector", Scope()),
    "secretariat": (SECRETARIAT.id, "secretariat", Scope()),
    "officer01": ("officer@01", "unit", Scope(unit="01")),
    "officer79": ("officer@79", "unit", Scope(unit="79")),
    "moj": (MOJ_MEMBER.id, "council", Scope(fields=MOJ_MEMBER.fields, ministry=MOJ_MEMBER.ministry)),
    "moha": (MOHA_MEMBER.id, "council", Scope(fields=MOHA_MEMBER.fields, ministry=MOHA_MEMBER.ministry)),
    "admin": ("admin@moha", "admin", Scope()),
}
ADJUSTED_REASON = "Văn bản ban hành chậm so với kế hoạch"
ARGUMENT = "Văn bản ban hành đúng hạn theo quyết định số 12"
# The app on SQLite, as tests/api has it: the pages add templates, sessions and forms over the services, which
# tests/integration runs on both databases.
app, database_url = api_tests.app, api_tests.database_url
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def council(app) -> Council:
    return app.extensions["par-council"].get().council


@pytest.fixture
def tokens(council) -> dict[str, str]:
    return {key: council.add_principal(name, role, ADMIN, scope)[1] for key, (name, role, scope) in PEOPLE.items()}


@dataclass
class Played:
    """The round after its story: 01's leaf 2.1.1 adjusted by the MOJ member then explained (open), 79's leaf 1.1.1
    explained (open, field 1: the MOHA member's)."""

    key: str
    adjusted_at: str  # how the pages show the adjustment's time (ICT)
    disputed: ScoreAddress
    other: ScoreAddress

    def timeline(self, at: ScoreAddress | None = None) -> str:
        at = at or self.disputed
        return f"/rounds/{at.round_key}/units/{at.unit}/scores/{at.leaf}/timeline"


@pytest.fixture
def played(council, clock) -> Played:
    key = open_round(council)
    full_self_assessment(council, key, "01", fraction=Decimal(1))
    full_self_assessment(council, key, "79", fraction=Decimal("0.5"))
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    for unit in ("01", "79"):
        council.propose_many(key, unit, [{"leaf": s["leaf"], "points": s["self_points"],
                                          "expected_version": s["version"]} for s in council.unit_scores(key, unit)],
                             SECRETARIAT)
    disputed, other = ScoreAddress(key, "01", "2.1.1"), ScoreAddress(key, "79", "1.1.1")
    clock.set(2025, 2, 20, 9, 30)
    council.adjust(disputed, "0.25", ADJUSTED_REASON, council.score(disputed)["version"], MOJ_MEMBER)
    clock.set(2025, 3, 12, 9)
    council.advance_phase(key, "explanation", SECRETARIAT)
    council.file_explanation(disputed, ExplanationReport(ARGUMENT, "0.75"), officer("01"))
    council.file_explanation(other, ExplanationReport("Đã hoàn thành đúng hạn", "0.40"), officer("79"))
    clock.set(2025, 3, 21, 9)
    council.advance_phase(key, "council_review", SECRETARIAT)
    return Played(key, "20/02/2025 09:30", disputed, other)


class Browser:
    """A test client used as a person uses the pages: through the login form, with the forms' CSRF tokens."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        found = CSRF.search(self.client.get(path).get_data(as_text=True))
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, token: str, next_path: str = "/") -> Browser:
        answer = self.client.post("/login", data={"token": token, "next": next_path, "csrf_token": self.csrf()})
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return self

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, str], token_from: str | None = None, **kw):
        return self.client.post(path, data={**data, "csrf_token": self.csrf(token_from or "/")}, **kw)


@pytest.fixture
def browser(app) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def as_(app, tokens):
    """as_("inspector") is a fresh browser signed in as that person."""
    return lambda who: Browser(app.test_client()).login(tokens[who])
