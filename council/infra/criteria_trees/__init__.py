"""The criteria trees shipped with par-council, loaded and validated by id or from a file."""

from __future__ import annotations

import json
from importlib import resources

from domain.errors import NotFoundError
from domain.framework import Framework


def available() -> list[str]:
    return sorted(p.name.removesuffix(".json") for p in resources.files(__package__).iterdir()
                  if p.name.endswith(".json"))


def load(framework_id: str) -> Framework:
    """A shipped tree by id (e.g. `province-876-2022`); validated on every load."""
    if framework_id not in available():
        raise NotFoundError(f"no criteria tree {framework_id!r}; shipped: {', '.join(available())}")
    text = resources.files(__package__).joinpath(f"{framework_id}.json").read_text(encoding="utf-8")
    return Framework.from_data(json.loads(text))
