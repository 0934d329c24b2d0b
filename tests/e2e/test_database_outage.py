"""A PostgreSQL outage answers 503 problem+json with Retry-After at once, and the same app heals by itself.

The test stops and starts a throwaway cluster of its own (tests/pgcluster.py), never the shared server.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from werkzeug.test import TestResponse

from api import create_app
from council import bootstrap
from domain.values import Actor, Role
from tests.pgcluster import ThrowawayCluster

ADMIN = Actor(id="cli:test", role=Role.ADMIN)
OUTAGE_BOUND = 10.0  # seconds a request may take to answer 503 while the database is down
RECOVERY_BOUND = 30.0  # seconds of polling after the restart before the same app must serve again




def timed(request: Callable[[], TestResponse]) -> tuple[TestResponse, float]:
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


@pytest.mark.postgres
def test_outage_answers_503_and_recovers_without_restart(cluster: ThrowawayCluster, tmp_path) -> None:
    env = cluster.council_env(str(tmp_path / "evidence"))
    bootstrap.init_db(bootstrap.settings(env))
    app = create_app({"TESTING": True, "COUNCIL_ENV": env})
    services = app.extensions["par-council"]
    try:
        _, token = services.get().council.add_principal("secretariat", "secretariat", ADMIN)
        client = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}

        def health() -> TestResponse:
            return client.get("/api/v1/health")

        def missing_round() -> TestResponse:
            return client.get("/api/v1/rounds/2024-province", headers=auth)

        def serving() -> bool:
            return health().status_code == 200 and missing_round().status_code == 404

        assert health().status_code == 200
        response = missing_round()
        assert response.status_code == 404, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"

        cluster.stop()
        for name, request in (("health", health), ("round", missing_round), ("health again", health)):
            response, seconds = timed(request)
            print(f"outage: {name} answered {response.status_code} in {seconds:.2f} s")
            assert response.status_code == 503, response.get_data(as_text=True)
            assert response.mimetype == "application/problem+json"
            assert response.headers.get("Retry-After", "").isdigit()
            assert response.get_json()["type"] == "service-unavailable"
            assert seconds < OUTAGE_BOUND, f"{name} took {seconds:.1f} s to answer 503"

        cluster.start()
        restarted = time.monotonic()
        while not serving():
            assert time.monotonic() - restarted < RECOVERY_BOUND, "the app did not serve again after the restart"
            time.sleep(0.5)
        print(f"recovery: serving again {time.monotonic() - restarted:.2f} s after the restart")
        assert app.extensions["par-council"] is services
        response = missing_round()
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
        answer = health().get_json()
        assert (answer["status"], answer["database"], answer["backend"]) == ("ok", "ok", "postgresql")
        assert answer["events"] == services.get().council.recorder.max_notification_id() > 0
    finally:
        services.close()
