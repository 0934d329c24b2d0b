"""A server started before `council db init`: every request says what to do (503), none is a 500, and the same
process serves once the tables exist."""

from __future__ import annotations

import pytest

from api import create_app
from council import bootstrap

PATHS = ["/api/v1/health", "/api/v1/rounds/2024-province", "/api/v1/audit", "/api/v1/frameworks"]


@pytest.fixture
def uninitialized(tmp_path):
    env = {"COUNCIL_DATA_DIR": str(tmp_path)}
    app = create_app({"TESTING": True, "COUNCIL_ENV": env})
    yield app, env, tmp_path
    app.extensions["par-council"].close()


def test_without_tables_every_request_is_a_503_naming_db_init(uninitialized):
    app, _, folder = uninitialized
    client = app.test_client()
    for path in PATHS:
        answer = client.get(path, headers={"Authorization": "Bearer some-token"})
        assert (answer.status_code, answer.mimetype) == (503, "application/problem+json"), (path, answer.data)
        assert answer.json["type"] == "database-not-initialized"
        assert "council db init" in answer.json["detail"]
        assert answer.headers["Retry-After"].isdigit()
    assert not (folder / "council.db").exists(), "looking for the tables must not create an empty database"


def test_the_same_process_serves_once_db_init_has_run(uninitialized):
    app, env, _ = uninitialized
    client = app.test_client()
    assert client.get("/api/v1/health").status_code == 503
    bootstrap.init_db(bootstrap.settings(env))
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200 and answer.json["events"] == 0
