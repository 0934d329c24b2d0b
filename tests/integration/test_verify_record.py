"""`verify` beyond the chains: evidence files re-hashed against their names, the read views compared with a
fresh fold of the log (issue 10; the attacks on the log itself are in test_attacks.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from domain.integrity import load_plain, recompute, stored_hash
from domain.values import Actor, Role, ScoreAddress
from projections.ledger_format import event_leaf, fast_leaf
from projections.tables import NAMES
from tests.builders import officer, open_round, stored_document
from tests.tampering import execute


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
    execute(env, [(f"UPDATE {view.base('scores')} SET points = %s WHERE round_key = %s AND unit = %s AND leaf = %s",
                   [Decimal("0.99") if "postgres" in env["COUNCIL_DATABASE_URL"] else "0.99", key, "01", "1.1.1"])])
    assert council.verify()["valid"] is True  # without --views the views are not looked at
    report = council.verify(views=read_models)
    assert report["valid"] is False and report["first_broken"] is None
    problem = report["views"]["first_problem"]
    assert problem["table"] == "scores" and problem["row"] == {"round_key": key, "unit": "01", "leaf": "1.1.1"}
    assert "0.99" in problem["reason"] and "0.50" in problem["reason"]
    assert read_models.view().generation == view.generation


def test_every_stored_event_hashes_the_same_from_its_stored_json_as_from_its_fields(council, clock):
    """verify's fast path (domain.integrity.stored_hash, no domain objects) agrees with the exact one for every
    kind of event a round stores, so verify never falls back to decoding an intact log."""
    from tests.integration.test_attacks import played

    played(council, clock)
    council.add_principal("thuky@moha", "secretariat", Actor(id="cli:test", role=Role.ADMIN))
    kinds = set()
    for notification in council.recorder.select_notifications(start=1, limit=10_000):
        event = council.mapper.to_domain_event(notification)
        state = load_plain(notification.state)
        assert stored_hash(str(notification.originator_id), notification.originator_version, event.TOPIC, state) == \
            recompute(event) == event.hash
        leaf = fast_leaf(notification.id, notification.originator_id, notification.originator_version, event.hash)
        assert leaf == event_leaf(notification.id, event)
        kinds.add(event.TOPIC)
    assert len(kinds) >= 10
