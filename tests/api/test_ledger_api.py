"""The ledger over HTTP (docs/decisions/0010-ledger.md): sign a checkpoint, check its signature with the public key
as an outsider would, prove a receipt's inclusion and the consistency of two checkpoints."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from projections.ledger_format import checkpoint_message, entry
from projections.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.api.test_scores_api import open_round
from tests.api.test_signed_receipts import public_keys, self_score, verdict


def sign(callers) -> dict:
    answer = callers["secretariat"].post("/api/v1/checkpoints")
    assert answer.status_code == 201, answer.json
    return answer.json


def test_a_signed_checkpoint_proves_a_receipt_and_its_successor_is_consistent(app, callers):
    open_round(callers)
    receipt = self_score(callers).json
    first = sign(callers)
    key = next(k for k in public_keys(app)["keys"] if k["key_id"] == first["key_id"])
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"])).verify(
        base64.b64decode(first["signature"]),
        checkpoint_message(first["tree_size"], first["root"], first["signed_at"], first["key_id"]))
    assert callers["inspector"].get("/api/v1/checkpoints/latest").json["root"] == first["root"]

    proof = callers["inspector"].get(f"/api/v1/proofs/inclusion?position={receipt['notification_id']}"
                                     f"&size={first['tree_size']}")
    assert proof.status_code == 200, proof.json
    leaf = leaf_hash(entry(receipt["notification_id"], receipt["stream"], receipt["version"], receipt["event_hash"]))
    assert proof.json["leaf_hash"] == leaf.hex()
    assert verify_inclusion(leaf, proof.json["leaf_index"], first["tree_size"],
                            [bytes.fromhex(node) for node in proof.json["audit_path"]], bytes.fromhex(first["root"]))
    checked = verdict(callers, receipt)
    assert checked["valid"] and checked["included"] is True and checked["checkpoint"]["tree_size"] == first["tree_size"]

    self_score(callers, "0.75")
    second = sign(callers)
    assert len(callers["inspector"].get("/api/v1/checkpoints").json["checkpoints"]) == 2
    answer = callers["inspector"].get(f"/api/v1/proofs/consistency?from={first['tree_size']}"
                                      f"&to={second['tree_size']}")
    assert answer.status_code == 200, answer.json
    nodes = [bytes.fromhex(node) for node in answer.json["proof"]]
    assert verify_consistency(first["tree_size"], second["tree_size"], bytes.fromhex(first["root"]),
                              bytes.fromhex(second["root"]), nodes)
    assert callers["inspector"].get("/api/v1/verify").json["checkpoints_checked"] == 2


def test_a_proof_for_a_size_no_checkpoint_signed_is_not_found(callers):
    open_round(callers)
    sign(callers)
    assert callers["inspector"].get("/api/v1/proofs/inclusion?position=1&size=999").status_code == 404
