"""How the domain's value types are stored inside events (JSON, via eventsourcing's transcoder)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

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
