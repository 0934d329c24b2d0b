"""An app per test on SQLite, with principals for every role and their tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from api import create_app
from council import bootstrap
from council.services.principal_service import Scope
from domain.values import Actor, Role

ADMIN = Actor(id="cli:test", role=Role.ADMIN)


@dataclass
class Caller:
    """A test client speaking as one principal."""

    client: FlaskClient
    token: str

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, url: str, **kw):
        return self.client.get(url, headers=self.headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, json=None, **kw):
        return self.client.post(url, json=json, headers=self.headers(kw.pop("headers", None)), **kw)

    def put(self, url: str, json=None, **kw):
        return self.client.put(url, json=json, headers=self.headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def database_url(tmp_path) -> str:
    """The HTTP layer runs on SQLite only: what it adds (routing, schemas, problems, tokens) does not depend on
    the database, and the service layer below it is tested on both (tests/integration)."""
    return f"sqlite:///{tmp_path}/council.db"


@pytest.fixture
def app(settings, env, clock) -> Iterator:
    bootstrap.init_db(settings)
    app = create_app({"TESTING": True, "COUNCIL_ENV": env, "COUNCIL_CLOCK": clock})
    yield app
    app.extensions["par-council"].close()


@pytest.fixture
def callers(app) -> dict[str, Caller]:
    council = app.extensions["par-council"].get().council
    people = {
        "secretariat": {"role": "secretariat"},
        "officer01": {"role": "unit", "unit": "01"},
        "officer79": {"role": "unit", "unit": "79"},
        "moj": {"role": "council", "fields": ("2",), "ministry": "MOJ"},
        "moha": {"role": "council", "fields": ("1", "3", "4", "5", "8"), "ministry": "MOHA"},
        "inspector": {"role": "inspector"},
    }
    client = app.test_client()
    return {name: Caller(client, council.add_principal(name, spec.pop("role"), ADMIN, Scope(**spec))[1])
            for name, spec in people.items()}
