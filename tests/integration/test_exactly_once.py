"""Idempotency-Key exactly once, on SQLite and PostgreSQL, through the HTTP layer in one process: the key is
claimed in the transaction of its events, so a retry or a racing twin never records a second time, and a write
by a principal revoked before it commits is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from api import create_app
from council import bootstrap
from council.services import write_guard
from council.services.principal_service import Scope
from council.services.write_guard import Guard, guarded
from domain.errors import PrincipalRevokedError
from domain.values import Actor, Role, ScoreAddress
from tests.builders import KEY, WINDOWS, officer, open_round

ADMIN = Actor(id="cli:test", role=Role.ADMIN)
SCORES = f"/api/v1/rounds/{KEY}/units/01/scores"
LEAVES = ["1.1.1", "1.1.2", "1.2.1", "2.1.1", "2.1.2", "2.1.3", "3.1.1", "3.1.2", "4.1.1", "5.1.1"]


@pytest.fixture
def http(settings, env, clock) -> Iterator:
    bootstrap.init_db(settings)
    app = create_app({"TESTING": True, "COUNCIL_ENV": env, "COUNCIL_CLOCK": clock})
    council = app.extensions["par-council"].get().council
    open_round(council)
    token = council.add_principal("officer@01", "unit", ADMIN, Scope(unit="01"))[1]
    client = app.test_client()

    def put(leaf: str, points: str, key: str | None):
        headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}
        return client.put(f"{SCORES}/{leaf}/self-assessment", json={"points": points}, headers=headers)

    yield put, council
    app.extensions["par-council"].close()


def events(council) -> int:
    """Events in the log (not the last notification id: PostgreSQL's sequence keeps the ids of refused inserts)."""
    return len(council.recorder.select_notifications(start=1, limit=100_000))


def test_a_retry_replays_the_first_answer_and_records_nothing(http):
    put, council = http
    first = put("2.1.1", "0.50", "k-1")
    before = events(council)
    again = put("2.1.1", "0.50", "k-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert events(council) == before


def test_the_same_key_with_another_body_is_refused_and_records_nothing(http):
    put, council = http
    put("2.1.1", "0.50", "k-1")
    before = events(council)
    other = put("2.1.1", "0.25", "k-1")
    assert (other.status_code, other.json["type"]) == (422, "idempotency-key-reused")
    assert events(council) == before


def test_a_refused_request_does_not_use_up_its_key(http):
    put, council = http
    before = events(council)
    refused = put("2.1.1", "9.99", "k-1")
    assert refused.status_code == 422 and refused.json["type"] != "idempotency-key-reused"
    assert events(council) == before
    accepted = put("2.1.1", "0.50", "k-1")
    assert accepted.status_code == 200 and "Idempotent-Replayed" not in accepted.headers


def test_an_expired_key_is_forgotten(http, monkeypatch):
    put, council = http
    monkeypatch.setattr(write_guard, "KEY_LIFETIME_SECONDS", -1)
    put("2.1.1", "0.50", "k-1")
    before = events(council)
    again = put("2.1.1", "0.50", "k-1")
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert events(council) == before + 1


def test_a_hundred_same_instant_pairs_record_one_event_per_key_and_answer_alike(http):
    put, council = http
    before = events(council)
    for leaf in LEAVES:  # open every stream first, so each pair races on one self-scored event
        put(leaf, "0.00", None)
    opened = events(council)
    answers: dict[int, list] = {n: [] for n in range(100)}

    def twin(n: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        answers[n].append(put(LEAVES[n % len(LEAVES)], f"0.{n % 2 * 25:02d}", f"pair-{n}"))

    for n in range(100):
        barrier = threading.Barrier(2)
        pair = [threading.Thread(target=twin, args=(n, barrier)) for _ in range(2)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join()
    assert opened == before + 2 * len(LEAVES)
    assert events(council) == opened + 100, "one event per key"
    for n, (a, b) in answers.items():
        assert (a.status_code, b.status_code) == (200, 200), (n, a.json, b.json)
        assert a.json == b.json, n
    stored = council.recorder.select_notifications(start=1, limit=100_000)[opened:]
    assert len({(n.originator_id, n.originator_version) for n in stored}) == 100


def test_a_write_by_a_principal_revoked_before_it_commits_is_refused(council, clock):
    open_round(council)
    token = council.add_principal("officer@01", "unit", ADMIN, Scope(unit="01"))[1]
    session = council.session(token)
    assert session is not None
    council.revoke_principal("officer@01", "left the department", ADMIN)  # commits while the request runs
    before = events(council)
    with guarded(Guard(principal_stream=session.principal_stream, principal_version=session.principal_version)):
        with pytest.raises(PrincipalRevokedError):
            council.self_score(ScoreAddress(KEY, "01", "2.1.1"), "0.50", officer("01"))
    assert events(council) == before


def test_a_write_by_a_principal_still_valid_is_recorded_under_the_guard(council, clock):
    open_round(council)
    token = council.add_principal("officer@01", "unit", ADMIN, Scope(unit="01"))[1]
    session = council.session(token)
    assert session is not None and WINDOWS
    with guarded(Guard(principal_stream=session.principal_stream, principal_version=session.principal_version)):
        receipt = council.self_score(ScoreAddress(KEY, "01", "2.1.1"), "0.50", officer("01"))
    assert receipt.type == "self-scored"
