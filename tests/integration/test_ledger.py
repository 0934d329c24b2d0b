"""The ledger (issue 10, docs/decisions/0010-ledger.md): signed checkpoints of the Merkle tree over the log,
inclusion and consistency proofs, and `verify` catching what the per-stream chains cannot."""

from __future__ import annotations

import base64
import sqlite3
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from council import bootstrap
from council.infra.keyring import key_id
from domain.ids import ledger_id, score_id
from domain.integrity import recompute
from domain.values import ScoreAddress
from projections.ledger_format import checkpoint_message, entry
from projections.merkle import Tree, leaf_hash, verify_consistency, verify_inclusion
from projections.read_models import LedgerIncompleteError
from tests.builders import SECRETARIAT, officer, open_round

LEAVES = ("1.1.1", "1.1.2", "2.1.1")


def play(council) -> tuple[str, list[Any]]:
    key = open_round(council)
    receipts = [council.self_score(ScoreAddress(key, unit, leaf), "0.50", officer(unit))
                for unit in ("01", "79") for leaf in LEAVES]
    return key, receipts


def sign(council, read_models):
    return council.sign_checkpoint(SECRETARIAT, [leaf for _, leaf in read_models.leaves()])[0]


def log_tree(council) -> tuple[Tree, list[int]]:
    tree, positions = Tree(), []
    for position, _event, leaf in council.log_leaves():
        tree.append(leaf)
        positions.append(position)
    return tree, positions


def execute(env, statements: list[tuple[str, list[Any]]]) -> None:
    """Alter the events table as its owner / a superuser would, append-only triggers out of the way."""
    url = env["COUNCIL_DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("DROP TRIGGER IF EXISTS stored_events_no_update")
            conn.execute("DROP TRIGGER IF EXISTS stored_events_no_delete")
            for sql, params in statements:
                conn.execute(sql.format(table="stored_events").replace("%s", "?"), params)
        return
    database, schema = url.split("?schema=")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("ALTER TABLE council_events DISABLE TRIGGER events_append_only")
        for sql, params in statements:
            conn.execute(sql.format(table="council_events"), params)
        conn.execute("ALTER TABLE council_events ENABLE TRIGGER events_append_only")


def stream_key(env, stream) -> str:
    return stream.hex if env["COUNCIL_DATABASE_URL"].startswith("sqlite") else str(stream)


def test_every_receipt_of_a_round_has_an_inclusion_proof_against_the_signed_checkpoint(council, read_models):
    _, receipts = play(council)
    head = sign(council, read_models)
    assert council.checkpoints()[-1]["root"] == head["root"]
    tree, positions = log_tree(council)
    size, root = head["tree_size"], bytes.fromhex(head["root"])
    assert tree.root(size) == root
    for receipt in receipts:
        index = positions.index(receipt.notification_id)
        leaf = leaf_hash(entry(receipt.notification_id, receipt.stream, receipt.version, receipt.event_hash))
        assert verify_inclusion(leaf, index, size, tree.inclusion(index, size), root)
        verdict = council.verify_receipt({"stream": receipt.stream, "version": receipt.version,
                                          "event_hash": receipt.event_hash,
                                          "notification_id": receipt.notification_id})
        assert verdict["valid"] and verdict["included"] is True and verdict["checkpoint"]["tree_size"] == size
    assert council.verify()["valid"] is True and council.verify()["checkpoints_checked"] == 1


def test_a_receipt_newer_than_the_last_checkpoint_is_not_yet_included(council, read_models):
    key, _ = play(council)
    sign(council, read_models)
    late = council.self_score(ScoreAddress(key, "01", "2.1.2"), "0.25", officer("01"))
    verdict = council.verify_receipt({"stream": late.stream, "version": late.version, "event_hash": late.event_hash,
                                      "notification_id": late.notification_id})
    assert verdict["valid"] is True and verdict["included"] is None


def test_consistency_between_real_checkpoints_holds_and_against_a_forged_one_does_not(council, read_models):
    key, _ = play(council)
    first = sign(council, read_models)
    council.self_score(ScoreAddress(key, "01", "2.1.2"), "0.25", officer("01"))
    second = sign(council, read_models)
    tree, _ = log_tree(council)
    old, new = first["tree_size"], second["tree_size"]
    proof = tree.consistency(old, new)
    assert verify_consistency(old, new, bytes.fromhex(first["root"]), bytes.fromhex(second["root"]), proof)
    forged = bytearray(bytes.fromhex(second["root"]))
    forged[0] ^= 1
    assert not verify_consistency(old, new, bytes.fromhex(first["root"]), bytes(forged), proof)
    assert council.verify()["valid"] is True and council.verify()["checkpoints_checked"] == 2


def test_a_checkpoint_signed_by_another_key_is_rejected(council, read_models, clock):
    play(council)
    head = sign(council, read_models)
    stranger = Ed25519PrivateKey.generate()
    kid = key_id(stranger.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    signed_at = head["signed_at"]
    signature = base64.b64encode(stranger.sign(checkpoint_message(head["tree_size"], head["root"], signed_at,
                                                                  kid))).decode()
    ledger = council.repository.get(ledger_id())
    ledger.record({**head, "key_id": kid, "signature": signature}, council.context(SECRETARIAT))
    council.save(ledger)
    report = council.verify()
    assert report["valid"] is False
    broken = report["first_broken"]
    assert broken["checkpoint"] == head["tree_size"] and "not one of the council's keys" in broken["reason"]


def test_a_strong_rewrite_of_a_covered_event_is_caught_by_the_checkpoint(council, read_models, env):
    _key, receipts = play(council)
    head = sign(council, read_models)
    target = receipts[0]  # the last (and only self-scored) event of its stream
    event = next(e for p, e, _ in council.log_leaves() if p == target.notification_id)
    object.__setattr__(event, "points", Decimal("0.75"))
    object.__setattr__(event, "hash", recompute(event))
    stored = council.mapper.to_stored_event(event)
    execute(env, [("UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
                   [stored.state, stream_key(env, event.originator_id), event.originator_version])])
    report = council.verify()
    assert report["valid"] is False
    broken = report["first_broken"]
    assert broken["checkpoint"] == head["tree_size"] and head["root"] in broken["reason"]
    assert broken["stream"] == str(ledger_id())
    verdict = council.verify_receipt({"stream": target.stream, "version": target.version,
                                      "event_hash": target.event_hash, "notification_id": target.notification_id})
    assert verdict["valid"] is False


def test_deleting_the_last_event_of_a_stream_is_caught_by_the_checkpoint(council, read_models, env):
    key, _receipts = play(council)
    head = sign(council, read_models)
    stream = score_id(key, "79", "2.1.1")
    execute(env, [("DELETE FROM {table} WHERE originator_id = %s AND originator_version = 2",
                   [stream_key(env, stream)])])
    report = council.verify()
    assert report["valid"] is False and report["first_broken"]["checkpoint"] == head["tree_size"]


def test_swapping_the_positions_of_two_events_is_caught_by_the_checkpoint(council, read_models, env):
    _key, receipts = play(council)
    head = sign(council, read_models)
    # A1 A2 B1 B2 becomes A1 B1 A2 B2: every stream's chain still holds, only the log's order changed
    a, b = receipts[0], receipts[1]
    assert b.notification_id == a.notification_id + 2
    if env["COUNCIL_DATABASE_URL"].startswith("sqlite"):
        column, parking = "rowid", 10_000_000
    else:
        column, parking = "notification_id", 10_000_000
    execute(env, [
        (f"UPDATE {{table}} SET {column} = %s WHERE {column} = %s", [parking, a.notification_id]),
        (f"UPDATE {{table}} SET {column} = %s WHERE {column} = %s", [a.notification_id, a.notification_id + 1]),
        (f"UPDATE {{table}} SET {column} = %s WHERE {column} = %s", [a.notification_id + 1, parking]),
    ])
    report = council.verify()
    assert report["valid"] is False and report["first_broken"]["checkpoint"] == head["tree_size"]


def test_a_database_whose_views_predate_the_ledger_gets_the_table_from_db_init_and_its_leaves_from_a_rebuild(
        council, read_models, settings):
    play(council)
    read_models.leaves()
    view = read_models.view()
    with view.datastore.transaction(commit=True) as curs:  # as before this change: no ledger table
        curs.execute(f"DROP TABLE {view.table('ledger')}")
    bootstrap.init_db(settings)
    with pytest.raises(LedgerIncompleteError, match="projections rebuild"):
        read_models.leaves()
    read_models.rebuild()
    tree, positions = log_tree(council)
    leaves = read_models.leaves()
    assert [position for position, _ in leaves] == positions
    head = sign(council, read_models)
    assert head["root"] == tree.root().hex() and council.verify()["valid"] is True
