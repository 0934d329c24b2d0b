"""Ledger: the signed checkpoints (tree heads) of the Merkle tree over the log, recorded in the log itself, so a
later checkpoint covers the earlier ones (docs/decisions/0010-ledger.md)."""

from __future__ import annotations

from typing import Any

from domain.base import ChainedAggregate
from domain.ids import ledger_id
from domain.values import Context


class Ledger(ChainedAggregate):
    TOPIC = "par:ledger"

    class Event(ChainedAggregate.Event):
        TOPIC = "par:ledger:event"

    class Created(ChainedAggregate.Created):
        TOPIC = "par:ledger:opened"

    class CheckpointSigned(Event):
        TOPIC = "par:ledger:checkpoint-signed"
        tree_size: int
        root: str
        signed_at: str
        key_id: str
        signature: str

        def apply(self, ledger: Ledger) -> None:
            ledger.checkpoints.append(checkpoint_of(self))

    def __init__(self) -> None:
        self.checkpoints: list[dict[str, Any]] = []

    @classmethod
    def open(cls, ctx: Context) -> Ledger:
        return cls._create(cls.Created, id=ledger_id(), **ctx.stamp())

    def record(self, checkpoint: dict[str, Any], ctx: Context) -> None:
        """A signed tree head: `tree_size`, `root`, `signed_at`, `key_id`, `signature` (signed by the caller)."""
        self.trigger_event(self.CheckpointSigned, tree_size=int(checkpoint["tree_size"]), root=checkpoint["root"],
                           signed_at=checkpoint["signed_at"], key_id=checkpoint["key_id"],
                           signature=checkpoint["signature"], **ctx.stamp())


def checkpoint_of(event: Any) -> dict[str, Any]:
    return {"tree_size": event.tree_size, "root": event.root, "signed_at": event.signed_at, "key_id": event.key_id,
            "signature": event.signature}
