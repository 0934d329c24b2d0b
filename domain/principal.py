"""Principal: a person or system allowed to call the API, its role and scope, and its current token's hash."""

from __future__ import annotations

from collections.abc import Sequence

from domain.base import ChainedAggregate
from domain.errors import InvalidPrincipalError, PrincipalRevokedError, ReasonRequiredError
from domain.ids import principal_id, token_id
from domain.values import Actor, Context, Role, blank


class Principal(ChainedAggregate):
    TOPIC = "par:principal"

    class Event(ChainedAggregate.Event):
        TOPIC = "par:principal:event"

    class Created(ChainedAggregate.Created):
        TOPIC = "par:principal:registered"
        name: str
        role: str
        unit: str | None
        fields: tuple[str, ...]
        ministry: str | None
        token_hash: str

    class TokenRotated(Event):
        TOPIC = "par:principal:token-rotated"
        token_hash: str

        def apply(self, principal: Principal) -> None:
            principal.token_hash = self.token_hash

    class Revoked(Event):
        TOPIC = "par:principal:revoked"
        reason: str

        def apply(self, principal: Principal) -> None:
            principal.revoked = True
            principal.revoked_reason = self.reason

    def __init__(self, name: str, role: str, unit: str | None, fields: Sequence[str], ministry: str | None,
                 token_hash: str) -> None:
        self.name = name
        self.role = role
        self.unit = unit
        self.fields = tuple(fields)  # stored as a JSON list
        self.ministry = ministry
        self.token_hash = token_hash
        self.revoked = False
        self.revoked_reason = ""

    @classmethod
    def register(cls, name: str, role: str, token_hash: str, ctx: Context, unit: str | None = None,
                 fields: Sequence[str] = (), ministry: str | None = None) -> Principal:
        """Only an administrator registers principals; each role comes with the scope it acts in."""
        ctx.actor.require_role(Role.ADMIN)
        if blank(name) or any(c.isspace() for c in name):
            raise InvalidPrincipalError(f"a principal's name must be non-blank without spaces, not {name!r}")
        checked = _role(role)
        if checked is Role.UNIT and blank(unit):
            raise InvalidPrincipalError(f"unit officer {name} needs the unit they act for")
        if checked is Role.COUNCIL and (not fields or any(blank(f) for f in fields) or blank(ministry)):
            raise InvalidPrincipalError(f"council member {name} needs their assigned fields and home ministry")
        return cls._create(
            cls.Created, id=principal_id(name), name=name, role=checked.value, unit=unit, fields=tuple(fields),
            ministry=ministry, token_hash=token_hash, **ctx.stamp(),
        )

    def rotate(self, token_hash: str, ctx: Context) -> None:
        """A new token replaces the current one, which stops working at once."""
        ctx.actor.require_role(Role.ADMIN)
        self._require_active()
        self.trigger_event(self.TokenRotated, token_hash=token_hash, **ctx.stamp())

    def revoke(self, reason: str, ctx: Context) -> None:
        ctx.actor.require_role(Role.ADMIN)
        self._require_active()
        if blank(reason):
            raise ReasonRequiredError(f"revoking principal {self.name} needs a reason")
        self.trigger_event(self.Revoked, reason=reason, **ctx.stamp())

    @property
    def actor(self) -> Actor:
        return Actor(id=self.name, role=Role(self.role), unit=self.unit, fields=self.fields, ministry=self.ministry)

    def _require_active(self) -> None:
        if self.revoked:
            raise PrincipalRevokedError(f"principal {self.name} is revoked", reason=self.revoked_reason)


class TokenIndex(ChainedAggregate):
    """The stream of one token hash: makes the hash unique and leads from it to its principal."""

    TOPIC = "par:token"

    class Created(ChainedAggregate.Created):
        TOPIC = "par:token:issued"
        principal: str

    def __init__(self, principal: str) -> None:
        self.principal = principal

    @classmethod
    def issue(cls, principal: Principal, ctx: Context) -> TokenIndex:
        """Indexes the principal's current token hash; saved with the event that set it."""
        return cls._create(cls.Created, id=token_id(principal.token_hash), principal=principal.name, **ctx.stamp())


def _role(role: str) -> Role:
    try:
        checked = Role(role)
    except ValueError:
        checked = Role.SYSTEM
    if checked is Role.SYSTEM:
        allowed = ", ".join(r.value for r in Role if r is not Role.SYSTEM)
        raise InvalidPrincipalError(f"role {role!r} cannot be given to a principal (one of {allowed})")
    return checked
