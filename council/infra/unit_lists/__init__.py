"""Unit lists shipped for demo rounds and fixtures (a round carries its own list; code never does)."""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any


def available() -> list[str]:
    return sorted(p.name.removesuffix(".csv") for p in resources.files(__package__).iterdir()
                  if p.name.endswith(".csv"))


def load(name: str) -> list[dict[str, Any]]:
    """Units of a shipped list (`provinces-2012-2025`, `provinces-from-2025`, `ministries-2022-2024`);
    FileNotFoundError for any other name."""
    if name not in available():
        raise FileNotFoundError(f"no shipped unit list {name!r}")
    text = resources.files(__package__).joinpath(f"{name}.csv").read_text(encoding="utf-8")
    return [
        {"code": row["code"], "name": row["name"], "region": row.get("region") or "",
         "ranked": (row.get("ranked") or "yes") == "yes"}
        for row in csv.DictReader(text.splitlines())
    ]
