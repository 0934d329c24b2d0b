"""Idempotency-Key records on SQLite and PostgreSQL: the first stored answer is the answer, for good."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from council import bootstrap
from council.infra.idempotency_store import IdempotencyStore

CREATED = ("officer-01", "key-1", "hash-a", 201, '{"id": "2024-province"}', {"Location": "/api/v1/rounds/2024"})


@pytest.fixture
def store(settings) -> Iterator[IdempotencyStore]:
    bootstrap.init_db(settings)
    idempotency = IdempotencyStore.from_settings(settings)
    yield idempotency
    idempotency.close()


def test_a_key_never_used_is_not_found(store):
    assert store.lookup("officer-01", "key-1") is None


def test_a_saved_answer_is_found_as_it_was_saved(store):
    saved = store.save(*CREATED)
    found = store.lookup("officer-01", "key-1")
    assert found == saved
    assert (found.request_hash, found.status, found.body, found.headers) == CREATED[2:]
    assert found.created_at.tzinfo is not None


def test_a_second_save_with_the_same_key_keeps_the_first_answer(store):
    first = store.save(*CREATED)
    second = store.save("officer-01", "key-1", "hash-b", 409, '{"type": "already-exists"}', {})
    assert second == first
    assert store.lookup("officer-01", "key-1") == first


def test_the_same_key_for_another_principal_is_independent(store):
    store.save(*CREATED)
    assert store.lookup("officer-79", "key-1") is None
    other = store.save("officer-79", "key-1", "hash-b", 200, "{}", {})
    assert (other.principal, other.status) == ("officer-79", 200)
    assert store.lookup("officer-01", "key-1").status == 201


def test_ten_threads_saving_the_same_key_at_once_all_get_one_and_the_same_answer(store):
    start, answers = threading.Barrier(10), [None] * 10

    def save(n: int) -> None:
        start.wait()
        answers[n] = store.save("officer-01", "key-1", f"hash-{n}", 200 + n, f'{{"n": {n}}}', {"X-N": str(n)})

    threads = [threading.Thread(target=save, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert None not in answers
    assert len({(a.request_hash, a.status, a.body, a.created_at) for a in answers}) == 1
    assert store.lookup("officer-01", "key-1") == answers[0]


def test_db_init_twice_keeps_the_stored_answers(settings, store):
    saved = store.save(*CREATED)
    bootstrap.init_db(settings)
    assert store.lookup("officer-01", "key-1") == saved


def test_building_the_postgres_store_connects_to_nothing_until_first_use(tmp_path):
    """A server that only listens: building the store (before gunicorn forks) must not dial it; the first
    lookup does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        settings = bootstrap.settings({"COUNCIL_DATA_DIR": str(tmp_path), "COUNCIL_CONNECT_TIMEOUT": "1",
                                       "COUNCIL_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{port}/none"})
        store = IdempotencyStore.from_settings(settings)
        with pytest.raises(TimeoutError):
            listener.accept()
        failures: list[BaseException] = []
        first_use = threading.Thread(target=lambda: _lookup_failing(store, failures))
        first_use.start()
        listener.settimeout(5)
        dialled, _ = listener.accept()
        dialled.close()
        first_use.join()
        store.close()
    assert failures, "a lookup against a server that never answers must fail, not hang or succeed"


def _lookup_failing(store: IdempotencyStore, failures: list[BaseException]) -> None:
    try:
        store.lookup("officer-01", "key-1")
    except (PoolTimeout, psycopg.OperationalError) as error:
        failures.append(error)
