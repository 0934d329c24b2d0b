"""The index: totals per field, component indices, index out of 100, ranks with ties, groups, averages; and the
results as the Ministry publishes them: per-field ranks, the parts by leaf method, the change against the previous
round of the same level, and a round's summary."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from domain.framework import Framework
from domain.values import Unit

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
PARTS = ("appraisal", "targets", "survey")  # the leaf methods every result shows a part for, 0.00 when absent


@dataclass(frozen=True)
class Previous:
    """A unit's result in the previous round of the same level."""

    round: str
    rank: int | None
    index: Decimal


@dataclass(frozen=True)
class UnitResult:
    """One unit's result. `field_ranks` rank the ranked units field by field (None for an unranked unit); `parts`
    add up the unit's leaf points per leaf method. The comparison (`compare`) fills the last four: `previous` and
    `index_change` when the unit has a result in the previous round, `rank_change` (previous rank − rank, positive
    when it rose) when it is ranked in both, and `new` when there is a previous round without the unit."""

    unit: Unit
    fields: dict[str, Decimal]
    components: dict[str, Decimal]
    index: Decimal
    rank: int | None
    group: str | None
    field_ranks: dict[str, int | None] = field(default_factory=dict)
    parts: dict[str, Decimal] = field(default_factory=dict)
    previous: Previous | None = None
    rank_change: int | None = None
    index_change: Decimal | None = None
    new: bool = False


@dataclass(frozen=True)
class Movement:
    """The units that moved the most places, all of them when several share the move; `change` as rank_change."""

    units: tuple[str, ...]
    change: int


@dataclass(frozen=True)
class IndexMoves:
    """The index changes of the units ranked now and present in the previous round, as the Ministry announces
    them ("57 provinces rose, by +0.03 to +9.39; 6 fell, by -0.51 to -2.91"). Falls are negative: the largest
    fall is the most negative change, the smallest the one nearest zero."""

    rose: int
    fell: int
    largest_rise: Decimal | None
    smallest_rise: Decimal | None
    largest_fall: Decimal | None
    smallest_fall: Decimal | None


@dataclass(frozen=True)
class Summary:
    """A round at a glance, over its ranked units. `mean` is the national average (None without ranked units);
    `groups` counts every group of the thresholds (0 when none), `ungrouped` those below the lowest; the moves
    count the units ranked in this round and the previous one (`compared`), `new` those absent from it."""

    ranked: int
    mean: Decimal | None
    above_mean: int
    groups: dict[str, int]
    ungrouped: int
    regions: dict[str, Decimal]
    previous_round: str | None = None
    compared: int = 0
    rose: int = 0
    fell: int = 0
    stayed: int = 0
    new: int = 0
    largest_rise: Movement | None = None
    largest_fall: Movement | None = None
    index_moves: IndexMoves | None = None


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


def field_maxima(framework: Framework) -> dict[str, Decimal]:
    """Each field's maximum points, in the tree's order: a field's points are shown over it."""
    return {node.code: node.max_points for node in framework.fields}


def compute(framework: Framework, units: Sequence[Unit], points: Mapping[str, Mapping[str, Decimal]],
            thresholds: Mapping[str, Decimal]) -> list[UnitResult]:
    """Results of every unit from its leaf points; units not ranked are scored but get no rank."""
    leaves = framework.leaves()
    field_of = {leaf.code: leaf.field for leaf in leaves}
    method_of = {leaf.code: str(leaf.method) for leaf in leaves}
    methods = list(dict.fromkeys([*PARTS, *method_of.values()]))
    maxima = field_maxima(framework)
    totals: dict[str, dict[str, Decimal]] = {}
    parts: dict[str, dict[str, Decimal]] = {}
    for unit in units:
        by_field = dict.fromkeys(maxima, ZERO)
        by_method = dict.fromkeys(methods, ZERO)
        for leaf, value in points.get(unit.code, {}).items():
            by_field[field_of[leaf]] += value
            by_method[method_of[leaf]] += value
        totals[unit.code] = by_field
        parts[unit.code] = by_method
    indices = {code: sum(by_field.values(), ZERO) for code, by_field in totals.items()}
    ranked = [unit.code for unit in units if unit.ranked]
    ranks = rank({code: indices[code] for code in ranked})
    by_field_ranks = {code: rank({unit: totals[unit][code] for unit in ranked}) for code in maxima}
    results = [
        UnitResult(
            unit=unit,
            fields=totals[unit.code],
            components={code: component(value, maxima[code]) for code, value in totals[unit.code].items()},
            index=indices[unit.code],
            rank=ranks.get(unit.code),
            group=group_of(indices[unit.code], thresholds),
            field_ranks={code: field_ranks.get(unit.code) for code, field_ranks in by_field_ranks.items()},
            parts=parts[unit.code],
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


def compare(current: Sequence[UnitResult], previous: Sequence[UnitResult] | None,
            previous_round: str = "") -> list[UnitResult]:
    """The current results with their change against `previous` (the results of round `previous_round`), matched
    by unit code; unchanged when there is no previous round. Only current units are returned: a unit that left
    is not shown."""
    if previous is None:
        return list(current)
    before = {result.unit.code: result for result in previous}
    compared = []
    for result in current:
        old = before.get(result.unit.code)
        if old is None:
            compared.append(replace(result, new=True))
            continue
        rank_change = old.rank - result.rank if old.rank is not None and result.rank is not None else None
        compared.append(replace(result, previous=Previous(previous_round, old.rank, old.index),
                                rank_change=rank_change, index_change=result.index - old.index))
    return compared


def summary(results: Sequence[UnitResult], thresholds: Mapping[str, Decimal],
            previous_round: str | None = None) -> Summary:
    """The round's summary over its ranked units (see `Summary`); the moves are those `compare` filled in."""
    ranked = [r for r in results if r.rank is not None]
    means = averages(results)
    mean = means.get("national")
    groups = dict.fromkeys(thresholds, 0)
    for result in ranked:
        if result.group is not None:
            groups[result.group] = groups.get(result.group, 0) + 1
    changes = {r.unit.code: r.rank_change for r in ranked if r.rank_change is not None}
    return Summary(
        ranked=len(ranked),
        mean=mean,
        above_mean=sum(1 for r in ranked if mean is not None and r.index > mean),
        groups=groups,
        ungrouped=sum(1 for r in ranked if r.group is None),
        regions={name: value for name, value in means.items() if name != "national"},
        previous_round=previous_round,
        compared=len(changes),
        rose=sum(1 for change in changes.values() if change > 0),
        fell=sum(1 for change in changes.values() if change < 0),
        stayed=sum(1 for change in changes.values() if change == 0),
        new=sum(1 for r in ranked if r.new),
        largest_rise=_largest({code: change for code, change in changes.items() if change > 0}, max),
        largest_fall=_largest({code: change for code, change in changes.items() if change < 0}, min),
        index_moves=None if previous_round is None else _index_moves(
            [r.index_change for r in ranked if r.index_change is not None]),
    )


def _index_moves(changes: Sequence[Decimal]) -> IndexMoves:
    rises, falls = [c for c in changes if c > 0], [c for c in changes if c < 0]
    return IndexMoves(rose=len(rises), fell=len(falls),
                      largest_rise=max(rises, default=None), smallest_rise=min(rises, default=None),
                      largest_fall=min(falls, default=None), smallest_fall=max(falls, default=None))


def _largest(moves: Mapping[str, int], pick: Callable[[Iterable[int]], int]) -> Movement | None:
    """The move `pick` chooses (max: the largest rise, min: the largest fall) and every unit that made it."""
    if not moves:
        return None
    change = pick(moves.values())
    return Movement(tuple(sorted(code for code, value in moves.items() if value == change)), change)
