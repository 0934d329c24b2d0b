"""How events are stored: the domain's value types inside them (JSON, via eventsourcing's transcoder), and each
event's seal, added as it is stored (docs/decisions/0011)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoder, Transcoding

from council.infra.keyring import Keyring
from domain.values import Actor, Document, Unit, Window


class DataclassAsDict(Transcoding):
    """A frozen dataclass as a dict of its fields; decoded through the type's own from_dict."""

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type.from_dict(data)  # type: ignore[attr-defined]


class ActorAsDict(DataclassAsDict):
    """Actors repeat in almost every event: decoded once per distinct actor (they are immutable)."""

    def __init__(self) -> None:
        super().__init__(Actor, "actor")
        self.known: dict[tuple[Any, ...], Actor] = {}

    def decode(self, data: dict[str, Any]) -> Any:
        key = (data["id"], data["role"], data.get("unit"), tuple(data.get("fields") or ()), data.get("ministry"))
        found = self.known.get(key)
        if found is None:
            found = Actor.from_dict(data)
            if len(self.known) < 100_000:  # bounded: principals are few, but never trust a log to be small
                self.known[key] = found
        return found


def register(transcoder: JSONTranscoder) -> None:
    # The names are stored in every event: never change them, add new ones.
    transcoder.register(ActorAsDict())
    for cls, name in ((Document, "document"), (Unit, "unit"), (Window, "window")):
        transcoder.register(DataclassAsDict(cls, name))


class SealingMapper(Mapper):  # type: ignore[type-arg]
    """The library's mapper, sealing each event with the current key as it is stored (the seal is left out of the
    event's hash: domain.integrity.BASE_FIELDS). Without a key (before `council keys init`) events go unsealed,
    and `verify` names them."""

    def __init__(self, transcoder: Transcoder, keyring: Keyring | None) -> None:
        super().__init__(transcoder)
        self.keyring = keyring

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = vars(domain_event)
        if self.keyring is not None and "hash" in state and "seal" not in state:
            seal = self.keyring.seal(domain_event.originator_id, domain_event.originator_version, state["hash"])
            if seal is not None:
                object.__setattr__(domain_event, "seal", seal)
        return super().to_stored_event(domain_event)
