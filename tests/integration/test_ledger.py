"""The ledger (issue 10, docs/decisions/0010-ledger.md): signed checkpoints of the Merkle tree over the log,
inclusion and consistency proofs, and `verify` catching what the per-stream chains cannot."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from council import bootstrap
from council.infra.keyring import key_id
from domain.ids import ledger_id
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
    return council.sign_checkpoint(SECRETARIAT, read_models.leaves())[0]


def log_tree(council) -> tuple[Tree, list[int]]:
    tree, positions = Tree(), []
    for position, _event, leaf in council.log_leaves():
        tree.append(leaf)
        positions.append(position)
    return tree, positions


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
