"""Principals: who may register them, the scope each role needs, rotation and revocation (domain only)."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.errors import ForbiddenRoleError, InvalidPrincipalError, PrincipalRevokedError, ReasonRequiredError
from domain.ids import principal_id, token_id
from domain.principal import Principal, TokenIndex
from domain.values import Actor, Context, Role
from tests.builders import ICT, SECRETARIAT

ADMIN = Actor(id="admin@moha", role=Role.ADMIN)
NOW = datetime(2025, 1, 10, tzinfo=ICT)


def ctx(actor: Actor = ADMIN) -> Context:
    return Context(actor=actor, request_id="req-1", now=NOW)


def register(name: str = "officer@01", role: str = "unit", **scope) -> Principal:
    scope = {"unit": "01"} | scope if role == "unit" else scope
    return Principal.register(name, role, "a" * 64, ctx(), **scope)


def test_a_registered_principal_acts_with_its_role_and_scope():
    member = register("member@moj", "council", fields=("2", "3"), ministry="MOJ")
    assert member.id == principal_id("member@moj")
    assert member.actor == Actor(id="member@moj", role=Role.COUNCIL, fields=("2", "3"), ministry="MOJ")
    assert register().actor == Actor(id="officer@01", role=Role.UNIT, unit="01")


def test_only_an_administrator_registers_principals():
    with pytest.raises(ForbiddenRoleError):
        Principal.register("x", "secretariat", "a" * 64, ctx(SECRETARIAT))


@pytest.mark.parametrize("name", ["", "   ", "two words", "tab\tname"])
def test_a_blank_name_or_one_with_spaces_is_refused(name):
    with pytest.raises(InvalidPrincipalError):
        register(name, "secretariat")


@pytest.mark.parametrize("role", ["system", "mayor", ""])
def test_the_system_role_and_unknown_roles_cannot_be_given(role):
    with pytest.raises(InvalidPrincipalError, match="cannot be given"):
        register("someone", role)


def test_a_unit_officer_needs_a_unit():
    with pytest.raises(InvalidPrincipalError, match="unit"):
        register("officer@01", "unit", unit=None)


@pytest.mark.parametrize("scope", [{"ministry": "MOJ"}, {"fields": ("2",)}, {"fields": ("",), "ministry": "MOJ"}])
def test_a_council_member_needs_fields_and_a_home_ministry(scope):
    with pytest.raises(InvalidPrincipalError, match="fields and home ministry"):
        register("member@moj", "council", **scope)


def test_a_rotated_token_replaces_the_hash_and_gets_its_own_index():
    principal = register()
    principal.rotate("b" * 64, ctx())
    index = TokenIndex.issue(principal, ctx())
    assert principal.token_hash == "b" * 64
    assert index.id == token_id("b" * 64) and index.principal == "officer@01"


def test_revoking_needs_a_reason_and_happens_once():
    principal = register()
    with pytest.raises(ReasonRequiredError):
        principal.revoke("  ", ctx())
    principal.revoke("left the office", ctx())
    assert principal.revoked and principal.revoked_reason == "left the office"
    with pytest.raises(PrincipalRevokedError):
        principal.revoke("again", ctx())
    with pytest.raises(PrincipalRevokedError):
        principal.rotate("b" * 64, ctx())


def test_only_an_administrator_rotates_or_revokes():
    principal = register()
    with pytest.raises(ForbiddenRoleError):
        principal.rotate("b" * 64, ctx(SECRETARIAT))
    with pytest.raises(ForbiddenRoleError):
        principal.revoke("no", ctx(SECRETARIAT))


def test_every_principal_event_is_chained_and_stamped_with_its_actor():
    principal = register()
    principal.rotate("b" * 64, ctx())
    principal.revoke("left", ctx())
    events = principal.collect_events()
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert {e.actor for e in events} == {ADMIN}
