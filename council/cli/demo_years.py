"""The published PAR INDEX years the demo plays (issue 12): each round's mean, top, bottom and group A count as
announced, the provinces whose value is public with that value, plausible values for the others, and from each
province's index the final points of every leaf, and the self-scores, proposals, adjustments and explanations that
lead to them. Sources: ../shared/data/parindex-published.md and the CSV files beside it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from domain.framework import Framework

CENT = Decimal("0.01")
A_FLOOR, B_CEILING = Decimal("90.00"), Decimal("89.95")


@dataclass(frozen=True)
class PublishedYear:
    year: int
    mean: Decimal
    group_a: int  # index ≥ 90
    bottom: tuple[str, Decimal]  # the last province, with its value (published, or plausible when only its rank is)
    known: dict[str, Decimal]  # province name → published index (or a plausible one for a published rank)
    decision: str
    decided_on: date
    announced_on: date
    minutes: str
    provenance: dict[str, str] = field(default_factory=dict)


YEARS = {
    2023: PublishedYear(
        2023, Decimal("86.98"), 7, ("An Giang", Decimal("81.32")),
        {"Quảng Ninh": Decimal("92.18"), "Hải Phòng": Decimal("91.87"), "Hà Nội": Decimal("91.43"),
         "Bắc Giang": Decimal("91.16"), "Bà Rịa - Vũng Tàu": Decimal("91.03"), "Ninh Bình": Decimal("88.72"),
         "Sơn La": Decimal("88.66"), "Hòa Bình": Decimal("86.76"), "Ninh Thuận": Decimal("86.68")},
        "1154/QĐ-BNV", date(2024, 4, 12), date(2024, 4, 17), "Biên bản số 09/BB-HĐTĐ",
        {"decision": "illustrative: the 2023 decision's number and date are not in the gathered sources"}),
    2024: PublishedYear(
        2024, Decimal("88.37"), 13, ("Cao Bằng", Decimal("82.40")),
        {"Hải Phòng": Decimal("96.17"), "Bà Rịa - Vũng Tàu": Decimal("93.35"), "Hà Nội": Decimal("92.90"),
         "Sơn La": Decimal("90.02"), "Bình Dương": Decimal("89.13"), "Hòa Bình": Decimal("88.18"),
         "Ninh Thuận": Decimal("85.98")},
        "268/QĐ-BNV", date(2025, 3, 28), date(2025, 4, 6), "Biên bản số 12/BB-HĐTĐ",
        {"Hà Nội": "rank 3 published, value plausible", "Cao Bằng": "rank 63 published, value plausible"}),
}


def target_indices(spec: PublishedYear, units: list[dict[str, Any]], seed: int,
                   previous: dict[str, Decimal] | None = None) -> dict[str, Decimal]:
    """Every unit's index: the published ones, and for the others values drawn so that the round's mean, its group
    A count and its bottom are the published ones (scaled to the number of units given). Given the previous
    year's indices, a unit's value is drawn near its own previous one moved by the change of the mean, and the
    group A places go to the best of the previous year: provinces keep their places roughly, as they do."""
    rng = random.Random(f"par-index/{spec.year}/{seed}")
    by_name = {unit["name"]: unit["code"] for unit in units}
    fixed = {by_name[name]: value for name, value in spec.known.items() if name in by_name}
    bottom_code = by_name.get(spec.bottom[0])
    if bottom_code is not None:
        fixed[bottom_code] = spec.bottom[1]
    floor = spec.bottom[1] + Decimal("0.30")
    top = max(fixed.values(), default=Decimal("92.00"))
    others = [unit["code"] for unit in units if unit["code"] not in fixed]
    rng.shuffle(others)
    drift = Decimal(0)
    if previous:
        others.sort(key=lambda code: previous.get(code, Decimal(0)), reverse=True)
        drift = spec.mean - sum(previous.values(), Decimal(0)) / len(previous)
    wanted_a = round(spec.group_a * len(units) / 63) - sum(1 for value in fixed.values() if value >= A_FLOOR)
    chosen_a, rest = others[:max(0, wanted_a)], others[max(0, wanted_a):]
    values = dict(fixed)
    for code in chosen_a:
        values[code] = _cents(rng.uniform(90.05, float(min(top - Decimal("0.20"), Decimal("91.80")))))
    for code in rest:
        centre, spread = (previous[code] + drift, 1.0) if previous and code in previous else (spec.mean, 2.2)
        values[code] = _cents(min(max(rng.gauss(float(centre), spread), float(floor)), float(B_CEILING)))
    total_wanted = spec.mean * len(units)
    for _ in range(50):  # shift the B values toward the published mean, within [floor, B_CEILING]
        gap = total_wanted - sum(values.values())
        if abs(gap) < CENT or not rest:
            break
        share = _cents_floor(gap / len(rest)) or (CENT if gap > 0 else -CENT)
        for code in rest:
            values[code] = min(max(values[code] + share, floor), B_CEILING)
    return values


def leaf_points(framework: Framework, index: Decimal, rng: random.Random) -> dict[str, Decimal]:
    """Final points of every leaf summing exactly to `index`: each leaf near index% of its maximum, on its grid."""
    leaves = framework.leaves()
    share = float(index) / 100
    raw = {leaf.code: min(1.0, max(0.0, rng.gauss(share, 0.05))) * float(leaf.max_points) for leaf in leaves}
    scale = float(index) / sum(raw.values())
    points = {leaf.code: _on_grid(Decimal(str(raw[leaf.code] * scale)), leaf.step, leaf.max_points)
              for leaf in leaves}
    gap = index - sum(points.values())
    order = sorted(leaves, key=lambda leaf: leaf.max_points, reverse=True)
    while gap != 0:  # settle the rounding on the largest leaves, a grid step at a time
        moved = False
        for leaf in order:
            step = leaf.step if gap > 0 else -leaf.step
            if abs(step) > abs(gap):
                continue
            after = points[leaf.code] + step
            if Decimal(0) <= after <= leaf.max_points:
                points[leaf.code], gap, moved = after, gap - step, True
                if gap == 0:
                    break
        if not moved:
            break
    return points


@dataclass(frozen=True)
class LeafStory:
    """How an appraised leaf reaches its final points: self-score, the Secretariat's proposal, the Council's
    adjustment, and the unit's explanation with the Council's decision (None: no such step)."""

    leaf: str
    final: Decimal
    self_points: Decimal
    proposed: Decimal
    adjusted: Decimal | None = None
    explained: bool = False
    accepted: bool = False


def story(code: str, final: Decimal, maximum: Decimal, rng: random.Random) -> LeafStory:
    """About one appraised leaf in seven is adjusted by the Council; two in five of those are explained by the
    unit, half of them accepted; one in twenty others has its self-score cut by the Secretariat's proposal."""
    draw = rng.random()
    cut = _cents(rng.uniform(0.10, 0.50))
    if draw < 1 / 7:
        explained = rng.random() < 0.4
        accepted = explained and rng.random() < 0.5
        if accepted and final > 0:  # restored by the decision: the Council had cut below the self-score
            d = min(cut, final)
            return LeafStory(code, final, final, final, final - d, True, True)
        d = min(cut, maximum - final)
        if d > 0:  # the Council's cut stands (silence, or a rejected explanation)
            return LeafStory(code, final, final + d, final + d, final, explained, False)
    elif draw < 1 / 7 + 0.05:
        d = min(cut, maximum - final)
        if d > 0:
            return LeafStory(code, final, final + d, final)
    return LeafStory(code, final, final, final)


def _cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _cents_floor(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_FLOOR) if value > 0 else -(-value).quantize(CENT, rounding=ROUND_FLOOR)


def _on_grid(value: Decimal, step: Decimal, maximum: Decimal) -> Decimal:
    return min(maximum, max(Decimal(0), (value / step).to_integral_value() * step)).quantize(CENT)
