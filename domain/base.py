"""ChainedAggregate: every event carries actor, request id and its place in the stream's hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.integrity import GENESIS, event_hash
from domain.values import Actor


class ChainedAggregate(Aggregate):
    """Base of the appraisal aggregates; commands pass `timestamp` (the server clock) explicitly."""

    last_hash: str = GENESIS

    class Event(Aggregate.Event):
        prev_hash: str
        hash: str
        actor: Actor
        request_id: str

        def mutate(self, aggregate: Any) -> Any:
            aggregate = super().mutate(aggregate)
            aggregate.last_hash = self.hash
            return aggregate

    class Created(Event, Aggregate.Created):
        pass

    @classmethod
    def _create(cls, event_class: type[Any], *, id: UUID | None = None, **kwargs: Any) -> Any:  # noqa: A002
        assert id is not None, "appraisal aggregates have natural-key ids"
        timestamp: datetime = kwargs.pop("timestamp")
        payload = {"originator_topic": cls.TOPIC, **kwargs}  # type: ignore[attr-defined]
        digest = event_hash(id, cls.INITIAL_VERSION, event_class.TOPIC, timestamp, payload, GENESIS)
        return super()._create(event_class, id=id, timestamp=timestamp, prev_hash=GENESIS, hash=digest, **kwargs)

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        timestamp: datetime = kwargs.pop("timestamp")
        digest = event_hash(self.id, self.version + 1, event_class.TOPIC, timestamp, kwargs, self.last_hash)
        super().trigger_event(event_class, timestamp=timestamp, prev_hash=self.last_hash, hash=digest, **kwargs)


REASON_FIELDS = ("reason", "comment", "argument", "explanation", "note")


def event_type(event: Any) -> str:
    """The name people see for an event: the last part of its pinned topic (`council-adjusted`)."""
    return str(type(event).TOPIC).rsplit(":", 1)[-1]


def reason_of(event: Any) -> str:
    """The why of an event, whichever field its kind keeps it in."""
    return next((str(value) for name in REASON_FIELDS if (value := getattr(event, name, None))), "")
