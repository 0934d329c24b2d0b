"""The index: totals per field, component indices, index out of 100, ranks with ties, groups, averages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.framework import Framework
from domain.values import Unit

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class UnitResult:
    unit: Unit
    fields: dict[str, Decimal]
    components: dict[str, Decimal]
    index: Decimal
    rank: int | None
    group: str | None


def component(achieved: Decimal, maximum: Decimal) -> Decimal:
    """A field's component index in %, unrounded (the caller rounds for display)."""
    return achieved * HUNDRED / maximum if maximum else ZERO


def group_of(index: Decimal, thresholds: Mapping[str, Decimal]) -> str | None:
    """The first group whose threshold the index reaches, in the round's order (highest first)."""
    for name, threshold in thresholds.items():
        if index >= threshold:
            return name
    return None


def rank(values: Mapping[str, Decimal]) -> dict[str, int]:
    """Competition ranking high to low: equal values share a rank, the next rank skips (1, 2, 2, 4)."""
    ordered = sorted(values.values(), reverse=True)
    first_place: dict[Decimal, int] = {}
    for place, value in enumerate(ordered, start=1):
        first_place.setdefault(value, place)
    return {key: first_place[value] for key, value in values.items()}


def compute(framework: Framework, units: Sequence[Unit], points: Mapping[str, Mapping[str, Decimal]],
            thresholds: Mapping[str, Decimal]) -> list[UnitResult]:
    """Results of every unit from its leaf points; units not ranked are scored but get no rank."""
    field_of = {leaf.code: leaf.field for leaf in framework.leaves()}
    maxima = {field.code: field.max_points for field in framework.fields}
    totals: dict[str, dict[str, Decimal]] = {}
    for unit in units:
        by_field = dict.fromkeys(maxima, ZERO)
        for leaf, value in points.get(unit.code, {}).items():
            by_field[field_of[leaf]] += value
        totals[unit.code] = by_field
    indices = {code: sum(by_field.values(), ZERO) for code, by_field in totals.items()}
    ranks = rank({unit.code: indices[unit.code] for unit in units if unit.ranked})
    results = [
        UnitResult(
            unit=unit,
            fields=totals[unit.code],
            components={code: component(value, maxima[code]) for code, value in totals[unit.code].items()},
            index=indices[unit.code],
            rank=ranks.get(unit.code),
            group=group_of(indices[unit.code], thresholds),
        )
        for unit in units
    ]
    return sorted(results, key=lambda r: (r.rank is None, r.rank or 0, r.unit.code))


def averages(results: Sequence[UnitResult]) -> dict[str, Decimal]:
    """The national average index and one per region, over ranked units only (unrounded)."""
    ranked = [r for r in results if r.rank is not None]
    groups: dict[str, list[Decimal]] = {"national": [r.index for r in ranked]}
    for result in ranked:
        if result.unit.region:
            groups.setdefault(result.unit.region, []).append(result.index)
    return {name: sum(values, ZERO) / len(values) for name, values in groups.items() if values}
