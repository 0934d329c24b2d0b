"""Re-scoring a round under a corrected criteria tree (issue 12): the recorded points of every leaf carried over
to the other tree by a written rule, the results computed again, and both side by side. Nothing is recorded.

The rule (`carry_over`), leaf by leaf, matched by code:
- same code, same maximum: the points are re-read unchanged;
- same code, another maximum: the points are scaled by new max / old max and rounded half up to the new leaf's
  step (so a leaf at its maximum stays at its maximum, a leaf at 0 stays at 0);
- a code only in the new tree: 0.00 (nothing was recorded for it); a code only in the old tree: dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain.framework import Framework
from domain.results import UnitResult

ZERO = Decimal("0.00")
RULE = ("per leaf, matched by code: same maximum, re-read; another maximum, scaled by new/old maximum and rounded "
        "half up to the new leaf's step; a leaf only in the new tree, 0.00; a leaf only in the old tree, dropped")


def carry_over(points: Mapping[str, Mapping[str, Decimal]], old: Framework,
               new: Framework) -> dict[str, dict[str, Decimal]]:
    """Every unit's leaf points under `new`, from its points under `old` (the rule above)."""
    old_max = {leaf.code: leaf.max_points for leaf in old.leaves()}
    carried: dict[str, dict[str, Decimal]] = {}
    for unit, leaves in points.items():
        target: dict[str, Decimal] = {}
        for leaf in new.leaves():
            value = leaves.get(leaf.code)
            if value is None or leaf.code not in old_max:
                target[leaf.code] = ZERO
            elif old_max[leaf.code] == leaf.max_points:
                target[leaf.code] = value
            elif old_max[leaf.code] == 0:
                target[leaf.code] = ZERO
            else:
                scaled = value * leaf.max_points / old_max[leaf.code]
                steps = (scaled / leaf.step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
                target[leaf.code] = min(leaf.max_points, steps * leaf.step).quantize(Decimal("0.01"))
        carried[unit] = target
    return carried


def side_by_side(before: Sequence[UnitResult], after: Sequence[UnitResult]) -> list[dict[str, Any]]:
    """Per unit, in the new ranking's order: index, rank and group before and after, and the rank change
    (positive: the unit would rise)."""
    was = {result.unit.code: result for result in before}
    rows = []
    for result in after:
        old = was.get(result.unit.code)
        change = None if old is None or old.rank is None or result.rank is None else old.rank - result.rank
        rows.append({
            "unit": result.unit.code, "name": result.unit.name,
            "index_before": None if old is None else old.index, "index_after": result.index,
            "rank_before": None if old is None else old.rank, "rank_after": result.rank, "rank_change": change,
            "group_before": None if old is None else old.group, "group_after": result.group,
        })
    return rows
