"""Build council/infra/criteria_trees/province-876-2022-v2.json from the reconstructed tree of 2022 (issue 12).

The published reports give the field maxima F1 9.5, F3 13, F4 10.5, F5 15 and F8 16.5 (so F2 + F6 + F7 = 35.5) and
the split of the 100 points: 61.5 appraised by the Council, about 6.5 of socio-economic targets, 32 from the survey
(../shared/data/parindex-published.md). What is not published is reconstructed here, by a rule written down:

- F2 + F6 + F7 = 35.5 is shared 10.5 / 12 / 13 (the 2022 tree's ratio 8.5 : 9.5 : 11.5, rounded to halves);
- per field, appraisal and survey maxima (the targets: F8's appraised leaves, which measure socio-economic
  development, become the targets method, 6.5 points; F8 keeps 10 survey points; the other 22 survey points go to
  F1-F7 in the 2022 tree's proportions, rounded to halves; the appraisal maxima are what is left);
- each leaf keeps its code and title; its maximum is the 2022 maximum scaled to its field's new (field, method)
  total, on a grid of 0.25 (at least 0.25), the rounding remainder given to the leaves with the largest fractions.

    python scripts/make_published_tree.py   # rewrites the v2 file; the v1 file is never changed
"""

from __future__ import annotations

import json
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

TREES = Path(__file__).resolve().parents[1] / "council" / "infra" / "criteria_trees"
GRID = Decimal("0.25")
# field -> (appraisal, targets, survey) maxima
SPLIT = {
    "1": ("7.00", "0", "2.50"), "2": ("7.50", "0", "3.00"), "3": ("9.50", "0", "3.50"), "4": ("7.50", "0", "3.00"),
    "5": ("11.50", "0", "3.50"), "6": ("9.00", "0", "3.00"), "7": ("9.50", "0", "3.50"), "8": ("0", "6.50", "10.00"),
}
METHOD_OF_OLD = {"8": {"appraisal": "targets"}}  # F8's appraised leaves become the socio-economic targets


def leaves(node: dict) -> list[dict]:
    return [node] if "children" not in node else [leaf for child in node["children"] for leaf in leaves(child)]


def scale(group: list[dict], total: Decimal) -> None:
    old = sum(Decimal(leaf["max_points"]) for leaf in group)
    raw = [Decimal(leaf["max_points"]) * total / old for leaf in group]
    grid = [max(GRID, (value / GRID).to_integral_value(ROUND_FLOOR) * GRID) for value in raw]
    remainder = total - sum(grid)
    order = sorted(range(len(group)), key=lambda i: raw[i] - grid[i], reverse=remainder > 0)
    step = GRID if remainder > 0 else -GRID
    index = 0
    while remainder != 0:
        i = order[index % len(order)]
        if grid[i] + step >= GRID:
            grid[i] += step
            remainder -= step
        index += 1
    for leaf, value in zip(group, grid, strict=True):
        leaf["max_points"] = f"{value:.2f}"
        leaf.pop("step", None)  # the 2022 steps were for the old maxima; a leaf is graded to the cent


def totals(node: dict) -> Decimal:
    if "children" not in node:
        return Decimal(node["max_points"])
    value = sum((totals(child) for child in node["children"]), Decimal(0))
    node["max_points"] = f"{value:.2f}"
    return value


def main() -> None:
    tree = json.loads((TREES / "province-876-2022.json").read_text(encoding="utf-8"))
    for field in tree["fields"]:
        code = field["code"]
        for leaf in leaves(field):
            leaf["method"] = METHOD_OF_OLD.get(code, {}).get(leaf["method"], leaf["method"])
        for method, total in zip(("appraisal", "targets", "survey"), SPLIT[code], strict=True):
            group = [leaf for leaf in leaves(field) if leaf["method"] == method]
            if group:
                scale(group, Decimal(total))
        totals(field)
    tree.update({
        "id": "province-876-2022-v2",
        "version": 2,
        "reconstructed": True,
        "supersedes": "province-876-2022",
        "note": ("Published field maxima (F1 9.5, F3 13, F4 10.5, F5 15, F8 16.5) and the split 61.5 appraised / "
                 "6.5 socio-economic targets / 32 survey, from published provincial reports; the split of F2 + F6 "
                 "+ F7 = 35.5 (10.5 / 12 / 13), each field's appraisal/survey split and every leaf's maximum are "
                 "reconstructed by the rule in scripts/make_published_tree.py. Codes and titles are those of "
                 "province-876-2022. Replace with the official table when it is at hand."),
        "sources": ["../shared/data/parindex-published.md", "../shared/data/parindex-components.csv"],
    })
    tree["expected"] = {"fields": 8, "criteria": 37, "sub_criteria": 88, "appraisal_points": "61.50",
                        "targets_points": "6.50", "survey_points": "32.00", "total_points": "100.00",
                        "field_points": {c: f"{sum(Decimal(v) for v in s):.2f}" for c, s in SPLIT.items()}}
    (TREES / "province-876-2022-v2.json").write_text(json.dumps(tree, ensure_ascii=False, indent=2) + "\n",
                                                       encoding="utf-8")


if __name__ == "__main__":
    main()
