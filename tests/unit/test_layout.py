"""The layout a newcomer relies on: one name per module across the packages, short service signatures."""

from __future__ import annotations

import inspect
from collections import defaultdict
from pathlib import Path

from council.services import Council
from projections.read_models import ReadModels

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "council", "projections", "api")
MOST_PARAMETERS = 5


def test_no_module_name_is_used_twice_across_the_packages():
    seen: dict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name != "__init__.py":
                seen[path.stem].append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}


def test_no_service_method_takes_more_than_five_parameters():
    too_long = {}
    for cls in (Council, ReadModels):
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_") or method.__module__.startswith("eventsourcing"):
                continue
            parameters = [p for p in inspect.signature(method).parameters if p != "self"]
            if len(parameters) > MOST_PARAMETERS:
                too_long[f"{cls.__name__}.{name}"] = parameters
    assert too_long == {}


def test_the_domain_imports_only_the_standard_library_and_eventsourcing_domain():
    allowed = ("domain", "eventsourcing.domain", "__future__")
    for path in (ROOT / "domain").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and len(words) > 1:
                module = words[1]
                top = module.split(".")[0]
                third_party = top not in _stdlib() and not module.startswith(allowed)
                assert not third_party, f"{path.name}: {line}"


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names)
