"""Signed receipts (docs/decisions/0008): every write's answer is signed by the council's Ed25519 key, a replayed
answer too; /receipts/verify refuses a receipt with any field changed, a bad signature, or a key that is not the
council's; a rotation keeps old receipts valid; the private key stays in its 0600 file, out of the database."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from council import bootstrap
from council.infra.keyring import RECEIPT_FIELDS, key_id, receipt_message
from tests.api.test_scores_api import SCORE, open_round

VERIFY = "/api/v1/receipts/verify"


def self_score(callers, points: str = "0.50", **headers: str) -> Any:
    answer = callers["officer01"].put(f"{SCORE}/self-assessment", json={"points": points, "note": ""},
                                      headers=headers)
    assert answer.status_code == 200, answer.json
    return answer


def verdict(callers, receipt: dict[str, Any]) -> dict[str, Any]:
    answer = callers["inspector"].post(VERIFY, json=receipt)
    assert answer.status_code == 200, answer.json
    return answer.json


def public_keys(app) -> dict[str, Any]:
    answer = app.test_client().get("/api/v1/keys")  # public keys are public: no token
    assert answer.status_code == 200, answer.json
    return answer.json


def test_a_writes_receipt_is_signed_by_the_current_key_and_verifies_offline_and_online(app, callers):
    open_round(callers)
    receipt = self_score(callers).json
    keys = public_keys(app)
    assert receipt["key_id"] == keys["current"] and len(keys["keys"]) == 1
    key = keys["keys"][0]
    assert (key["algorithm"], key["valid_until"]) == ("Ed25519", None)
    raw = base64.b64decode(key["public_key"])
    assert key_id(raw) == key["key_id"]
    # What an outsider does with docs/decisions/0008: the bytes, the public key, Ed25519.
    Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(receipt["signature"]),
                                                   receipt_message(receipt, receipt["key_id"]))
    assert verdict(callers, receipt) == {
        "valid": True, "signed": True,
        "reason": "its signature is the council's, the event is in the log and its chain is intact",
        "included": None, "checkpoint": None}  # no checkpoint covers it yet (docs/decisions/0010)
    forms = callers["officer01"].post("/api/v1/rounds/2024-province/units/01/self-assessment", json={
        "entries": [{"leaf": "2.1.3", "points": "0.50"}, {"leaf": "2.1.2", "points": "0.25"}]})
    assert forms.status_code == 201, forms.json
    assert len(forms.json) >= 2 and all(verdict(callers, one)["valid"] for one in forms.json)  # each one signed


def changed(receipt: dict[str, Any], name: str) -> dict[str, Any]:
    value = receipt[name]
    if name in ("version", "notification_id"):
        value += 1
    elif name == "event_hash":
        value = ("0" if value[0] != "0" else "1") + value[1:]
    elif name == "recorded_at":
        value = (datetime.fromisoformat(value) + timedelta(seconds=1)).isoformat()
    elif name == "stream":
        value = value[:-1] + ("0" if value[-1] != "0" else "1")
    elif name == "signature":
        raw = bytearray(base64.b64decode(value))
        raw[0] ^= 1
        value = base64.b64encode(bytes(raw)).decode()
    elif name == "key_id":
        value = "0" * 16
    else:
        value += "x"
    return receipt | {name: value}


def test_a_receipt_with_any_field_or_its_signature_changed_does_not_verify(app, callers):
    open_round(callers)
    self_score(callers)
    receipt = self_score(callers, "0.25").json  # version 2: a changed version still names an event
    for name in (*RECEIPT_FIELDS, "signature", "key_id"):
        answer = verdict(callers, changed(receipt, name))
        assert answer["valid"] is False, (name, answer)
        assert answer["reason"], name
    assert "signature does not match" in verdict(callers, changed(receipt, "version"))["reason"]
    assert "not one of the council's keys" in verdict(callers, changed(receipt, "key_id"))["reason"]
    assert verdict(callers, receipt)["valid"] is True


def test_a_receipt_signed_by_a_key_that_is_not_the_councils_does_not_verify(app, callers):
    open_round(callers)
    receipt = self_score(callers).json
    stranger = Ed25519PrivateKey.generate()
    own_id = key_id(stranger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    for kid in (own_id, receipt["key_id"]):  # its own key id, or the council's claimed
        forged = receipt | {"key_id": kid,
                            "signature": base64.b64encode(stranger.sign(receipt_message(receipt, kid))).decode()}
        assert verdict(callers, forged)["valid"] is False, kid


def test_after_a_rotation_old_receipts_still_verify_and_new_ones_carry_the_new_key(app, settings, callers):
    open_round(callers)
    old = self_score(callers).json
    # Rotated by another process (`council keys rotate`): the server sees it without a restart.
    new_key, retired = bootstrap.open_keyring(settings).rotate(datetime.now(UTC))
    assert retired is not None and retired.key_id == old["key_id"]
    new = self_score(callers, "0.25").json
    assert new["key_id"] == new_key.key_id != old["key_id"]
    assert verdict(callers, old)["valid"] is True
    assert verdict(callers, new)["valid"] is True
    keys = public_keys(app)
    assert keys["current"] == new_key.key_id
    by_id = {key["key_id"]: key for key in keys["keys"]}
    assert by_id[new_key.key_id]["valid_until"] is None
    assert by_id[old["key_id"]]["valid_until"] == by_id[new_key.key_id]["valid_from"]


def test_a_replayed_idempotency_key_answer_carries_a_valid_signature(app, callers):
    open_round(callers)
    first = self_score(callers, **{"Idempotency-Key": "signed-1"})
    again = self_score(callers, **{"Idempotency-Key": "signed-1"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json  # Ed25519 is deterministic: the same fields, key and signature
    assert verdict(callers, again.json)["valid"] is True


def test_an_unsigned_receipt_is_still_checked_against_the_log(app, callers):
    open_round(callers)
    receipt = self_score(callers).json
    bare = {name: receipt[name] for name in ("stream", "version", "event_hash")}
    assert verdict(callers, bare) == {
        "valid": True, "signed": False,
        "reason": "it is not signed, but the event is in the log and its chain is intact",
        "included": None, "checkpoint": None}
    assert verdict(callers, bare | {"event_hash": "0" * 64})["valid"] is False


def test_the_key_file_is_0600_and_the_key_never_reaches_the_database(app, settings, callers):
    open_round(callers)
    self_score(callers, **{"Idempotency-Key": "stored-answer"})
    key_file = settings.key_file
    assert key_file.parent == settings.data_dir / "keys"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.parent.stat().st_mode & 0o077 == 0
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    pem_body = b"".join(key_file.read_bytes().splitlines()[1:-1])
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    stored = b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))
    assert len(stored) > 0
    for secret in (raw, pem_body, base64.b64encode(raw)):
        assert secret not in stored
    registry = (key_file.parent / "public-keys.json").read_bytes()
    assert raw not in registry and pem_body not in registry and base64.b64encode(raw) not in registry
