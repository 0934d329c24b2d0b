"""Principal services: register who may call the API, issue and rotate their tokens, revoke, authenticate."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from council.services.application import CouncilBase, Receipt
from domain.base import ChainedAggregate
from domain.errors import AlreadyExistsError
from domain.ids import principal_id, token_id
from domain.principal import Principal, TokenIndex
from domain.values import Actor


@dataclass(frozen=True)
class Session:
    actor: Actor
    principal_stream: UUID
    principal_version: int


@dataclass(frozen=True)
class Scope:
    """Where a principal acts: a unit officer's unit, a council member's fields and home ministry."""

    unit: str | None = None
    fields: Sequence[str] = field(default=())
    ministry: str | None = None

PAGE = 500
CHECKED_MOST = 4096  # stream versions whose chain verdict is remembered (forgotten all at once past this)


def token_hash(token: str) -> str:
    """Only this digest is stored: a token is random enough that no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


class PrincipalServices(CouncilBase):
    def add_principal(self, name: str, role: str, actor: Actor,
                      scope: Scope | None = None) -> tuple[dict[str, Any], str]:
        """Register a principal; the token is returned once and never stored or logged."""
        scope = scope or Scope()
        token, ctx = secrets.token_urlsafe(32), self.context(actor)
        principal = Principal.register(name, role, token_hash(token), ctx, unit=scope.unit,
                                       fields=tuple(scope.fields), ministry=scope.ministry)
        if self.recorder.select_events(principal_id(name), limit=1):
            raise AlreadyExistsError(f"principal {name} already exists")
        self._save(principal, TokenIndex.issue(principal, ctx))
        return as_dict(principal), token

    def rotate_token(self, name: str, actor: Actor) -> str:
        """A new token for the principal; the old one stops working."""
        principal = self._load(principal_id(name), f"principal {name}")
        token = secrets.token_urlsafe(32)
        ctx = self.context(actor)
        principal.rotate(token_hash(token), ctx)
        self._save(principal, TokenIndex.issue(principal, ctx))
        return token

    def revoke_principal(self, name: str, reason: str, actor: Actor) -> Receipt:
        principal = self._load(principal_id(name), f"principal {name}")
        principal.revoke(reason, self.context(actor))
        return self._save(principal)[-1]

    def authenticate(self, token: str) -> Actor | None:
        """The actor a bearer token stands for, or None: unknown, replaced by a rotation, or revoked."""
        found = self.session(token)
        return None if found is None else found.actor

    def session(self, token: str, *, fresh: bool = True) -> Session | None:
        """The actor of a bearer token and the principal's version it was checked against: a write whose
        principal moved past that version before it commits is refused (council/services/write_guard.py).

        `fresh=False` (a write request) takes the principal as this process last read it, without asking the log
        for newer events: the write guard checks that version again inside the events' transaction, so a
        revocation committed meanwhile still refuses the write. A read has no such check and stays fresh."""
        digest = token_hash(token)
        # A token index is one event that never changes: which principal a digest leads to is read from the log
        # once per process. The principal itself is read on every request, so a revocation or rotation wins.
        names: dict[str, str] = self.__dict__.setdefault("_token_principals", {})
        try:
            name = names.get(digest)
            if name is None:
                index: TokenIndex = self.repository.get(token_id(digest), deepcopy_from_cache=False)
                if not self._chain_holds(index):
                    return None  # a token index written around the services (forged, edited) leads nowhere
                name = index.principal
            principal: Principal = self._principal(principal_id(name), fresh)
        except AggregateNotFoundError:
            return None
        if principal.revoked or not secrets.compare_digest(principal.token_hash, digest):
            return None
        if not self._chain_holds(principal):
            return None  # a principal written around the services is nobody
        if len(names) >= CHECKED_MOST:
            names.clear()
        names[digest] = name
        return Session(principal.actor, principal.id, principal.version)

    def _principal(self, stream: UUID, fresh: bool) -> Principal:
        if not fresh and self.repository.cache is not None:
            try:
                cached: Any = self.repository.cache.get(stream)
                return cached  # type: ignore[no-any-return]
            except KeyError:
                pass
        found: Principal = self.repository.get(stream, deepcopy_from_cache=False)
        return found

    def _chain_holds(self, aggregate: ChainedAggregate) -> bool:
        """Whether the aggregate's stream, up to the version loaded, verifies (domain/integrity.py); remembered
        per stream, version and last hash, so a request costs a dictionary lookup once a version was checked."""
        checked: dict[tuple[UUID, int, str], bool] = self.__dict__.setdefault("_chains_checked", {})
        key = (aggregate.id, aggregate.version, aggregate.last_hash)
        verdict = checked.get(key)
        if verdict is None:
            verdict = self.first_unsound(self.events.get(aggregate.id, lte=aggregate.version)) is None
            if len(checked) >= CHECKED_MOST:
                checked.clear()
            checked[key] = verdict
        return verdict

    def principals(self) -> list[dict[str, Any]]:
        """Every principal in the order of registration, revoked ones included."""
        return [as_dict(self._load(stream, "principal", for_update=False)) for stream in self._principal_streams()]

    def _principal_streams(self) -> list[Any]:
        streams, start = [], 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=PAGE, topics=[Principal.Created.TOPIC])
            streams += [notification.originator_id for notification in page]
            if len(page) < PAGE:
                return streams
            start = page[-1].id + 1


def as_dict(principal: Principal) -> dict[str, Any]:
    return {"name": principal.name, "role": principal.role, "unit": principal.unit, "fields": list(principal.fields),
            "ministry": principal.ministry, "revoked": principal.revoked, "revoked_reason": principal.revoked_reason,
            "version": principal.version, "registered_at": principal.created_on}
