"""Blob: who uploaded a stored evidence file; scopes its download and its reuse by hash."""

from __future__ import annotations

from domain.base import ChainedAggregate
from domain.errors import NotFoundError
from domain.ids import blob_id
from domain.values import Actor, Context, Role

# Roles that read every unit's evidence; unit officers read what their unit uploaded.
READERS = (Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR, Role.SYSTEM)


class Blob(ChainedAggregate):
    TOPIC = "par:blob"

    class Event(ChainedAggregate.Event):
        TOPIC = "par:blob:event"

    class Created(ChainedAggregate.Created):
        TOPIC = "par:blob:uploaded"
        sha256: str
        media_type: str
        size: int
        unit: str | None

    class Shared(Event):
        TOPIC = "par:blob:uploaded-again"
        unit: str | None

        def apply(self, blob: Blob) -> None:
            blob.units.add(self.unit)

    def __init__(self, sha256: str, media_type: str, size: int, unit: str | None) -> None:
        self.sha256, self.media_type, self.size = sha256, media_type, size
        self.units = {unit}

    @classmethod
    def upload(cls, sha256: str, media_type: str, size: int, ctx: Context) -> Blob:
        return cls._create(cls.Created, id=blob_id(sha256), sha256=sha256, media_type=media_type, size=size,
                           unit=ctx.actor.unit, **ctx.stamp())

    def upload_again(self, ctx: Context) -> bool:
        if ctx.actor.unit in self.units:
            return False
        self.trigger_event(self.Shared, unit=ctx.actor.unit, **ctx.stamp())
        return True

    def require_reader(self, actor: Actor) -> None:
        """Unit officers see only what their own unit uploaded; a stranger learns nothing, not even existence."""
        if actor.role in READERS or (actor.role == Role.UNIT and actor.unit in self.units):
            return
        raise NotFoundError(f"no evidence {self.sha256}")
