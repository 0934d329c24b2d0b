"""Re-scoring a played round under a corrected tree (issue 12, done-when 4): one field's maximum changed, the
side-by-side ranks checked by hand, and nothing recorded in the log."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from council.infra import criteria_trees
from domain.errors import PermissionDeniedError
from domain.framework import Framework
from domain.rescore import carry_over
from domain.values import Actor, Role, ScoreAddress
from tests.builders import officer, open_round


def corrected() -> Framework:
    """The 2022 tree with leaf 1.5.1 worth 5.00 instead of 2.50 (field 1: 12.50) and survey leaf 8.3 worth 0.50
    instead of 3.00 (field 8: 23.50): the total stays 100."""
    data = copy.deepcopy(dict(criteria_trees.load("province-876-2022").data))
    data["id"] = "province-876-2022-corrected"
    for field in data["fields"]:
        if field["code"] == "1":
            field["max_points"] = "12.50"
            criterion = next(c for c in field["children"] if c["code"] == "1.5")
            criterion["max_points"] = f"{Decimal(criterion['max_points']) + Decimal('2.50'):.2f}"
            next(leaf for leaf in criterion["children"] if leaf["code"] == "1.5.1")["max_points"] = "5.00"
        if field["code"] == "8":
            field["max_points"] = "23.50"
            next(c for c in field["children"] if c["code"] == "8.3")["max_points"] = "0.50"
    data["expected"] = {**data["expected"], "appraisal_points": "70.50", "survey_points": "29.50"}
    return Framework.from_data(data)


def test_a_played_round_rescored_under_a_corrected_tree_changes_the_ranks_computed_by_hand(council, read_models):
    inspector = Actor(id="thanhtra@moha", role=Role.INSPECTOR)
    key = open_round(council)
    for unit, on_151, on_211 in (("01", "0.50", "0.75"), ("79", "1.00", "0.00"), ("48", "0.00", "0.50")):
        council.self_score(ScoreAddress(key, unit, "1.5.1"), on_151, officer(unit))
        council.self_score(ScoreAddress(key, unit, "2.1.1"), on_211, officer(unit))
    size = council.recorder.max_notification_id()
    answer = read_models.rescore(key, corrected(), inspector)
    assert council.recorder.max_notification_id() == size  # nothing recorded
    rows = {row["unit"]: row for row in answer["units"]}
    # before: 01 0.50 + 0.75 = 1.25 (1st), 79 1.00 (2nd), 48 0.50 (3rd)
    # after:  1.5.1 doubles: 01 1.00 + 0.75 = 1.75 (2nd), 79 2.00 (1st), 48 0.50 (3rd)
    assert {u: (r["index_before"], r["rank_before"], r["index_after"], r["rank_after"], r["rank_change"])
            for u, r in rows.items()} == {
        "01": (Decimal("1.25"), 1, Decimal("1.75"), 2, -1),
        "79": (Decimal("1.00"), 2, Decimal("2.00"), 1, 1),
        "48": (Decimal("0.50"), 3, Decimal("0.50"), 3, 0),
    }
    assert [row["unit"] for row in answer["units"]] == ["79", "01", "48"]
    assert answer["changed_ranks"] == 2 and answer["framework_after"] == "province-876-2022-corrected"
    assert read_models.results(key, inspector)["units"][0].unit.code == "01"  # the round itself is unchanged
    with pytest.raises(PermissionDeniedError):
        read_models.rescore(key, corrected(), officer("01"))


def test_the_carry_over_rule_scales_to_the_new_step_and_keeps_the_ends():
    old, new = criteria_trees.load("province-876-2022"), corrected()
    carried = carry_over({"01": {"1.5.1": Decimal("2.50"), "1.1.1": Decimal("0.50"), "8.3": Decimal("3.00")},
                          "79": {"1.5.1": Decimal("0.00"), "8.3": Decimal("1.37")}}, old, new)
    assert carried["01"]["1.5.1"] == Decimal("5.00")  # at its maximum, stays at its maximum
    assert carried["01"]["1.1.1"] == Decimal("0.50")  # same maximum: re-read
    assert carried["01"]["8.3"] == Decimal("0.50")
    assert carried["79"]["1.5.1"] == Decimal("0.00")
    assert carried["79"]["8.3"] == Decimal("0.23")  # 1.37 × 0.50 / 3.00 = 0.228…, half up to the cent
    assert carried["79"]["2.1.1"] == Decimal("0.00")  # nothing recorded
