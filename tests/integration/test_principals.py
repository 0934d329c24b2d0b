"""Principals and bearer tokens on SQLite and PostgreSQL: the token authenticates, is shown once, stored hashed."""

from __future__ import annotations

import hashlib

import pytest

from council.services import principal_service as principals
from council.services.principal_service import Scope
from domain.errors import AlreadyExistsError, ForbiddenRoleError, PrincipalRevokedError
from domain.values import Actor, Role
from tests.builders import SECRETARIAT

ADMIN = Actor(id="admin@moha", role=Role.ADMIN)


def log_size(council) -> int:
    return council.recorder.max_notification_id() or 0


def stored_states(council) -> bytes:
    notifications = council.recorder.select_notifications(start=1, limit=10_000)
    return b"\n".join(bytes(n.state) for n in notifications)


def test_a_token_authenticates_as_its_principal_with_role_and_scope(council):
    member, token = council.add_principal("member@moj", "council", ADMIN, Scope(fields=["2", "3"], ministry="MOJ"))
    _, officer_token = council.add_principal("officer@01", "unit", ADMIN, Scope(unit="01"))
    assert member == {"name": "member@moj", "role": "council", "unit": None, "fields": ["2", "3"], "ministry": "MOJ",
                      "revoked": False, "revoked_reason": "", "version": 1,
                      "registered_at": member["registered_at"]}
    assert council.authenticate(token) == Actor(id="member@moj", role=Role.COUNCIL, fields=("2", "3"),
                                                ministry="MOJ")
    assert council.authenticate(officer_token) == Actor(id="officer@01", role=Role.UNIT, unit="01")


def test_a_wrong_or_empty_token_authenticates_nobody(council):
    _, token = council.add_principal("thuky@moha", "secretariat", ADMIN)
    assert council.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert council.authenticate("") is None


def test_a_revoked_principals_token_stops_working_and_revoking_again_is_refused(council):
    _, token = council.add_principal("thuky@moha", "secretariat", ADMIN)
    receipt = council.revoke_principal("thuky@moha", "left the secretariat", ADMIN)
    assert receipt.type == "revoked"
    assert council.authenticate(token) is None
    with pytest.raises(PrincipalRevokedError):
        council.revoke_principal("thuky@moha", "again", ADMIN)


def test_after_a_rotation_only_the_new_token_works(council):
    _, old = council.add_principal("thuky@moha", "secretariat", ADMIN)
    new = council.rotate_token("thuky@moha", ADMIN)
    assert new != old
    assert council.authenticate(old) is None
    assert council.authenticate(new) == Actor(id="thuky@moha", role=Role.SECRETARIAT)


def test_the_log_keeps_the_tokens_hash_never_the_token(council):
    _, token = council.add_principal("thuky@moha", "secretariat", ADMIN)
    rotated = council.rotate_token("thuky@moha", ADMIN)
    states = stored_states(council)
    for issued in (token, rotated):
        assert issued.encode() not in states
        assert hashlib.sha256(issued.encode()).hexdigest().encode() in states


def test_a_duplicate_name_is_refused_and_records_nothing(council):
    council.add_principal("thuky@moha", "secretariat", ADMIN)
    before = log_size(council)
    with pytest.raises(AlreadyExistsError):
        council.add_principal("thuky@moha", "admin", ADMIN)
    assert log_size(council) == before


def test_only_an_administrator_adds_principals(council):
    with pytest.raises(ForbiddenRoleError):
        council.add_principal("intruder", "admin", SECRETARIAT)
    assert log_size(council) == 0
    assert council.principals() == []


def test_principals_are_listed_in_order_of_registration_with_revocations(council, monkeypatch):
    monkeypatch.setattr(principals, "PAGE", 2)  # the list reads the log in pages
    council.add_principal("admin@moha", "admin", ADMIN)
    council.add_principal("thuky@moha", "secretariat", ADMIN)
    council.rotate_token("thuky@moha", ADMIN)
    council.add_principal("officer@79", "unit", ADMIN, Scope(unit="79"))
    council.revoke_principal("thuky@moha", "duplicate account", ADMIN)
    listed = council.principals()
    assert [(p["name"], p["revoked"]) for p in listed] == [("admin@moha", False), ("thuky@moha", True),
                                                           ("officer@79", False)]
    assert listed[1]["revoked_reason"] == "duplicate account"
    assert listed[2]["unit"] == "79"
