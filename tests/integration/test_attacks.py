"""Issue 10, done-when 1: each attack on the record, played as someone who can write to the database (SQL as the
table's owner or a superuser, the public hash algorithm) but does not hold the council's key, on SQLite and on
PostgreSQL, after a signed checkpoint covers the attacked events. `verify` catches every one and names the position
and the stream of the event attacked; a receipt the council gave before the attack no longer verifies after it."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

import pytest

from council.services import verification_service
from council.services.principal_service import token_hash
from domain.errors import UnsoundLogError
from domain.ids import principal_id, round_id, score_id, token_id
from domain.integrity import recompute
from domain.values import Actor, Role, ScoreAddress
from tests.builders import MOJ_MEMBER, SECRETARIAT, officer, open_round, stored_document
from tests.tampering import FORGED_TOKEN, execute, forge_principal, insert, position_column, replace_state, stream_key

LEAF = "2.1.1"  # max 0.75


def played(council, clock) -> dict[str, Any]:
    """Unit 01's leaf 2.1.1 self-scored, proposed and adjusted by the council (0.25); a few more self-scores."""
    key = open_round(council)
    plan = stored_document(council, "01", "plan")
    council.self_assess(key, "01", [{"leaf": LEAF, "points": "0.50", "evidence": [plan]}], officer("01"))
    others = [council.self_score(ScoreAddress(key, unit, leaf), "0.25", officer(unit))
              for unit in ("01", "79") for leaf in ("1.1.1", "1.1.2")]
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    at = ScoreAddress(key, "01", LEAF)
    proposed = council.propose(at, "0.75", council.score(at)["version"], SECRETARIAT, comment="Đạt")
    adjusted = council.adjust(at, "0.25", "Văn bản ban hành chậm", proposed.version, MOJ_MEMBER)
    later = council.propose(ScoreAddress(key, "01", "1.1.1"), "0.25", 2, SECRETARIAT, comment="Đạt")
    return {"key": key, "adjusted": adjusted, "proposed": proposed, "others": others, "later": later}


def checkpoint(council, read_models) -> dict[str, Any]:
    return council.sign_checkpoint(SECRETARIAT, read_models.leaves())[0]


def receipt_holds(council, receipt) -> bool:
    return council.verify_receipt(asdict(receipt))["valid"]


def broken(council, read_models) -> dict[str, Any]:
    report = council.verify(witness=read_models)
    assert report["valid"] is False, report
    return report["first_broken"]


@pytest.fixture(params=["alone", "with-helper"])
def hashing(request, monkeypatch) -> list[Any]:
    """Each attack is verified twice: by the walk alone (a log of one page), and with pages and units shrunk so that
    the walk hands units of the log to its hashing helper process, as it does from 5,000 events on."""
    started: list[Any] = []
    if request.param == "with-helper":
        real = verification_service._Helper.start.__func__
        monkeypatch.setattr(verification_service, "WALK_PAGE", 6)
        monkeypatch.setattr(verification_service, "UNIT", 3)
        monkeypatch.setattr(verification_service._Helper, "start",
                            classmethod(lambda cls: started.append(real(cls)) or started[-1]))
    yield started
    if request.param == "with-helper":
        assert started and all(helper is not None for helper in started), "the walk never started its helper"


@pytest.fixture
def round_(council, read_models, clock, hashing) -> dict[str, Any]:
    story = played(council, clock)
    story["head"] = checkpoint(council, read_models)
    assert council.verify(witness=read_models)["valid"] is True
    assert all(receipt_holds(council, r) for r in (story["adjusted"], story["proposed"], *story["others"]))
    return story


def test_the_strong_rewrite_is_named_at_the_rewritten_event(council, read_models, env, round_):
    """The adjustment's points changed from 0.25 to 0.75 and every later hash of the stream recomputed, so the
    stream's chain holds: the seal, which the attacker cannot recompute, names the event."""
    adjusted = round_["adjusted"]
    events = list(council.events.get(score_id(round_["key"], "01", LEAF)))
    rewritten, prev = [], None
    for event in events:
        if event.originator_version >= adjusted.version:
            if event.originator_version == adjusted.version:
                object.__setattr__(event, "points", Decimal("0.75"))
            object.__setattr__(event, "prev_hash", prev)
            object.__setattr__(event, "hash", recompute(event))
            rewritten.append(event)
        prev = event.hash
    for event in rewritten:
        replace_state(council, env, event)
    assert council.score(ScoreAddress(round_["key"], "01", LEAF))["points"] == Decimal("0.75")
    found = broken(council, read_models)
    assert (found["position"], found["stream"], found["version"]) == (
        adjusted.notification_id, adjusted.stream, adjusted.version)
    assert "seal does not match" in found["reason"]
    assert not receipt_holds(council, adjusted)


def test_an_edited_state_that_keeps_its_hash_and_seal_is_named_at_the_edited_event(council, read_models, env,
                                                                                   round_):
    """The plainest edit: the adjustment's points changed in the stored JSON, its hash and seal left as they were
    (they still match each other, not the edited fields)."""
    adjusted = round_["adjusted"]
    (row,) = council.recorder.scan(adjusted.notification_id, 1)
    assert b'"_data_":"0.25"' in row[4]
    execute(env, [("UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
                   [row[4].replace(b'"_data_":"0.25"', b'"_data_":"0.75"'), stream_key(env, adjusted.stream),
                    adjusted.version])])
    found = broken(council, read_models)
    assert (found["position"], found["stream"], found["version"]) == (
        adjusted.notification_id, adjusted.stream, adjusted.version)
    assert "hash" in found["reason"], found
    assert not receipt_holds(council, adjusted)


def test_deleting_the_last_event_of_a_stream_is_named_from_the_signed_tree(council, read_models, env, round_):
    adjusted = round_["adjusted"]
    execute(env, [("DELETE FROM {table} WHERE originator_id = %s AND originator_version = %s",
                   [stream_key(env, adjusted.stream), adjusted.version])])
    found = broken(council, read_models)
    assert found["checkpoint"] == round_["head"]["tree_size"]
    assert (found["position"], found["stream"], found["version"]) == (
        adjusted.notification_id, adjusted.stream, adjusted.version)
    assert "is no longer in the log" in found["reason"]
    assert not receipt_holds(council, adjusted)


def test_deleting_a_whole_stream_is_named_from_the_signed_tree(council, read_models, env, round_):
    gone = round_["others"][3]  # unit 79, leaf 1.1.2: opened (v1) and self-scored (v2)
    execute(env, [("DELETE FROM {table} WHERE originator_id = %s", [stream_key(env, gone.stream)])])
    assert list(council.events.get(score_id(round_["key"], "79", "1.1.2"))) == []
    found = broken(council, read_models)
    assert found["checkpoint"] == round_["head"]["tree_size"]
    assert (found["position"], found["stream"], found["version"]) == (gone.notification_id - 1, gone.stream, 1)
    assert not receipt_holds(council, gone)


def test_swapping_the_positions_of_two_streams_events_is_named_from_the_signed_tree(council, read_models, env,
                                                                                    round_):
    # unit 01 1.1.2 (opened, self-scored) then unit 79 1.1.1 (opened, self-scored): A1 A2 B1 B2 becomes A1 B1 A2 B2,
    # every stream's chain and seal still hold, only the order of the log changed
    a, b = round_["others"][1], round_["others"][2]
    assert b.notification_id == a.notification_id + 2
    column, parking = position_column(env), 10_000_000
    execute(env, [
        (f"UPDATE {{table}} SET {column} = %s WHERE {column} = %s", [parking, a.notification_id]),
        (f"UPDATE {{table}} SET {column} = %s WHERE {column} = %s", [a.notification_id, a.notification_id + 1]),
        (f"UPDATE {{table}} SET {column} = %s WHERE {column} = %s", [a.notification_id + 1, parking]),
    ])
    found = broken(council, read_models)
    assert found["checkpoint"] == round_["head"]["tree_size"]
    assert (found["position"], found["stream"], found["version"]) == (a.notification_id, a.stream, a.version)
    assert f"is now at position {a.notification_id + 1}" in found["reason"]
    assert not receipt_holds(council, a)


def test_a_forged_principal_with_correct_hashes_is_refused_named_and_never_checkpointed(council, read_models, env,
                                                                                        round_):
    _, real = council.add_principal("thuky@moha", "secretariat", Actor(id="cli:test", role=Role.ADMIN))
    forge_principal(council, env)
    assert council.repository.get(token_id(token_hash(FORGED_TOKEN))) is not None  # it loads like a real one
    assert council.session(FORGED_TOKEN) is None and council.authenticate(FORGED_TOKEN) is None
    assert council.session(real) is not None
    found = broken(council, read_models)
    assert found["stream"] == str(principal_id("mallory@forged")) and found["version"] == 1
    assert found["position"] == council.recorder.max_notification_id() - 1
    assert "carries no seal" in found["reason"]
    with pytest.raises(UnsoundLogError) as refused:
        checkpoint(council, read_models)
    assert refused.value.details["stream"] == found["stream"]
    assert refused.value.details["position"] == found["position"]


def test_a_forged_adjustment_appended_with_a_correct_hash_is_named(council, read_models, env, round_):
    """An event added at the end of a covered stream, hash and link right: the log grew past the checkpoint,
    which still holds, but the seal is missing."""
    key, adjusted = round_["key"], round_["adjusted"]
    score = council.repository.get(score_id(key, "01", LEAF))
    rnd = council.repository.get(round_id(key))
    score.adjust(Decimal("0.75"), "sửa", adjusted.version, rnd, council.context(MOJ_MEMBER))
    forged = score.collect_events()
    insert(council, env, forged)
    found = broken(council, read_models)
    assert (found["stream"], found["version"]) == (adjusted.stream, adjusted.version + 1)
    assert found["position"] == council.recorder.max_notification_id()
    history = council.history(ScoreAddress(key, "01", LEAF))
    assert history["verified"] is False and history["broken"]["version"] == adjusted.version + 1
    assert "carries no seal" in history["broken"]["reason"]
