"""`verify` beyond the chains: evidence files re-hashed against their names, the read views compared with a
fresh fold of the log, and a principal forged with SQL refused at authentication and reported (issue 10)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from council.services.principal_service import token_hash
from domain.ids import principal_id, token_id
from domain.principal import Principal, TokenIndex
from domain.values import Actor, Role, ScoreAddress
from projections.tables import NAMES
from tests.builders import officer, open_round, stored_document

FORGED_TOKEN = "forged-token-of-mallory"
ADMIN = Actor(id="cli:test", role=Role.ADMIN)


def sql(env: dict[str, str], statement: str, params: list[Any], events: bool = False) -> None:
    """Run one statement as the database's owner / superuser would (append-only triggers out of the way)."""
    url = env["COUNCIL_DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(statement.format(table="stored_events").replace("%s", "?"), params)
        return
    database, schema = url.split("?schema=")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(statement.format(table="council_events"), params)


def forge_principal(council, env: dict[str, str], name: str = "mallory@forged") -> None:
    """A secretariat principal and its token index INSERTed straight into the events table, with a made-up
    hash: what someone with write access to the database, but not the services, can do."""
    ctx = council.context(ADMIN)
    principal = Principal.register(name, "secretariat", token_hash(FORGED_TOKEN), ctx)
    index = TokenIndex.issue(principal, ctx)
    sqlite = env["COUNCIL_DATABASE_URL"].startswith("sqlite")
    for event in [*principal.collect_events(), *index.collect_events()]:
        object.__setattr__(event, "hash", "f" * 64)
        stored = council.mapper.to_stored_event(event)
        stream = stored.originator_id.hex if sqlite else stored.originator_id
        sql(env, "INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)",
            [stream, stored.originator_version, stored.topic, stored.state])


def blob_path(env: dict[str, str], sha256: str) -> Path:
    return Path(env["COUNCIL_EVIDENCE_DIR"]) / sha256[:2] / sha256[2:4] / sha256


def test_an_intact_record_verifies_with_its_evidence_and_views(council, read_models):
    key = open_round(council)
    stored_document(council, "01", "a")
    stored_document(council, "79", "b")
    council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
    generation = read_models.view().generation
    report = council.verify(views=read_models)
    assert report["valid"] is True, report
    assert report["evidence"] == {"blobs": 2, "checked": 2, "problems": 0, "first_problem": None}
    assert report["views"]["first_problem"] is None and report["views"]["tables"] == list(NAMES)
    assert report["views"]["position"] == council.recorder.max_notification_id()
    assert read_models.view().generation == generation  # the readers stay where they were
    sampled = council.verify(sample=1)
    assert sampled["valid"] is True and sampled["evidence"]["checked"] == 1 and sampled["views"] is None


def test_a_replaced_or_missing_evidence_file_is_named_by_its_sha256(council, env):
    open_round(council)
    replaced = stored_document(council, "01", "a")["sha256"]
    removed = stored_document(council, "79", "b")["sha256"]
    path = blob_path(env, replaced)
    path.chmod(0o644)
    path.write_bytes(b"%PDF-1.4\n% another document altogether\n")
    report = council.verify()
    assert report["valid"] is False and report["first_broken"] is None
    problem = report["evidence"]["first_problem"]
    assert problem["sha256"] == replaced and "not to the sha256" in problem["reason"]
    path.unlink()
    blob_path(env, removed).unlink()
    report = council.verify()
    assert report["evidence"]["problems"] == 2
    assert report["evidence"]["first_problem"] == {
        "sha256": replaced, "stream": report["evidence"]["first_problem"]["stream"],
        "reason": "the evidence file is missing from the store"}
    assert council.verify(sample=1)["valid"] is False


def test_an_edited_view_row_is_caught_with_views_and_named(council, read_models, env):
    key = open_round(council)
    council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
    view = read_models.fresh_view()
    assert council.verify(views=read_models)["valid"] is True
    sql(env, f"UPDATE {view.base('scores')} SET points = %s WHERE round_key = %s AND unit = %s AND leaf = %s",
        [Decimal("0.99") if "postgres" in env["COUNCIL_DATABASE_URL"] else "0.99", key, "01", "1.1.1"])
    assert council.verify()["valid"] is True  # without --views the views are not looked at
    report = council.verify(views=read_models)
    assert report["valid"] is False and report["first_broken"] is None
    problem = report["views"]["first_problem"]
    assert problem["table"] == "scores" and problem["row"] == {"round_key": key, "unit": "01", "leaf": "1.1.1"}
    assert "0.99" in problem["reason"] and "0.50" in problem["reason"]
    assert read_models.view().generation == view.generation


def test_a_forged_principal_is_refused_at_authentication_and_reported_by_verify(council, env):
    _, real = council.add_principal("thuky@moha", "secretariat", ADMIN)
    assert council.session(real) is not None
    forge_principal(council, env)
    assert council.repository.get(token_id(token_hash(FORGED_TOKEN))) is not None  # it loads like a real one
    assert council.session(FORGED_TOKEN) is None
    assert council.authenticate(FORGED_TOKEN) is None
    assert council.session(real) is not None
    report = council.verify()
    assert report["valid"] is False
    assert report["first_broken"]["stream"] == str(principal_id("mallory@forged"))
    assert report["first_broken"]["reason"] == "hash does not match the event's content"
