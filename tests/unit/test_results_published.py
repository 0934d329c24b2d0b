"""The results as the Ministry publishes them, checked against numbers worked out by hand: per-field ranks, the
parts by leaf method, the change against the previous round of the same level, and the round's summary.

The tree is tiny on purpose:

    field 1 (max 50.00): 1.1 appraisal 30.00 + 1.2 survey 20.00
    field 2 (max 50.00): 2.1 appraisal 40.00 + 2.2 survey 10.00        total 100.00

Thresholds of both rounds: A >= 90, B >= 80, C >= 70, below 70 no group.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import results
from domain.framework import Framework, Node
from domain.values import Unit

D = Decimal
LEAVES = ("1.1", "1.2", "2.1", "2.2")
TREE = {
    "id": "hand-made-published",
    "level": "province",
    "title": "A hand-made tree for the published results",
    "fields": [
        {"code": "1", "title": "Field one", "max_points": "50.00", "children": [
            {"code": "1.1", "title": "Leaf 1.1", "max_points": "30.00", "method": "appraisal"},
            {"code": "1.2", "title": "Leaf 1.2", "max_points": "20.00", "method": "survey"},
        ]},
        {"code": "2", "title": "Field two", "max_points": "50.00", "children": [
            {"code": "2.1", "title": "Leaf 2.1", "max_points": "40.00", "method": "appraisal"},
            {"code": "2.2", "title": "Leaf 2.2", "max_points": "10.00", "method": "survey"},
        ]},
    ],
}
THRESHOLDS = {"A": D(90), "B": D(80), "C": D(70)}

# The previous round (2023): 06 takes part and then leaves; 07 does not exist yet; 08 is never ranked.
#
# unit  1.1  1.2    2.1    2.2   index   rank
# 04    30   19     38     8     95.00   1
# 02    27   18     37     8     90.00   2
# 01    25   17.50  35     8     85.50   3
# 06    24   16     32     8     80.00   4
# 03    22   15     30     8     75.00   5
# 05    20   15     28     7     70.00   6
# 08    30   20     37.50  10    97.50   -  (not ranked)
BEFORE_UNITS = [Unit(code, f"Province {code}", "North" if code < "04" else "South") for code in
                ("01", "02", "03", "04", "05", "06")] + [Unit("08", "Unranked city", "North", ranked=False)]
BEFORE = {
    "04": ("30.00", "19.00", "38.00", "8.00"),
    "02": ("27.00", "18.00", "37.00", "8.00"),
    "01": ("25.00", "17.50", "35.00", "8.00"),
    "06": ("24.00", "16.00", "32.00", "8.00"),
    "03": ("22.00", "15.00", "30.00", "8.00"),
    "05": ("20.00", "15.00", "28.00", "7.00"),
    "08": ("30.00", "20.00", "37.50", "10.00"),
}

# The current round (2024): 07 is new (a merger's unit), 06 has left.
#
# unit  1.1  1.2  2.1  2.2   field 1  field 2  index   rank  group  appraisal (1.1+2.1)  survey (1.2+2.2)
# 01    28   18   38   9     46       47       93.00   1     A      66                   27
# 02    25   20   35   8     45       43       88.00   2     B      60                   28
# 03    30   16   36   6     46       42       88.00   2     B      66                   22   } tie: 2, 2
# 07    26   17   33   9     43       42       85.00   4     B      59                   26   } 3 skipped
# 04    20   15   30   7     35       37       72.00   5     C      50                   22
# 05    22   14   25   5     36       30       66.00   6     -      47                   19
# 08    30   20   40   10    50       50       100.00  -     A      70                   30   (not ranked)
#
# field 1 ranks (ranked units): 46 (01, 03) -> 1, 1; 45 (02) -> 3; 43 (07) -> 4; 36 (05) -> 5; 35 (04) -> 6
# field 2 ranks (ranked units): 47 (01) -> 1; 43 (02) -> 2; 42 (03, 07) -> 3, 3; 37 (04) -> 5; 30 (05) -> 6
CURRENT_UNITS = [Unit(code, f"Province {code}", "North" if code < "04" else "South") for code in
                 ("01", "02", "03", "04", "05", "07")] + [Unit("08", "Unranked city", "North", ranked=False)]
CURRENT = {
    "01": ("28.00", "18.00", "38.00", "9.00"),
    "02": ("25.00", "20.00", "35.00", "8.00"),
    "03": ("30.00", "16.00", "36.00", "6.00"),
    "07": ("26.00", "17.00", "33.00", "9.00"),
    "04": ("20.00", "15.00", "30.00", "7.00"),
    "05": ("22.00", "14.00", "25.00", "5.00"),
    "08": ("30.00", "20.00", "40.00", "10.00"),
}
EXPECTED = {
    #       index     rank  field ranks        appraisal  survey
    "01": ("93.00", 1, {"1": 1, "2": 1}, "66.00", "27.00"),
    "02": ("88.00", 2, {"1": 3, "2": 2}, "60.00", "28.00"),
    "03": ("88.00", 2, {"1": 1, "2": 3}, "66.00", "22.00"),
    "07": ("85.00", 4, {"1": 4, "2": 3}, "59.00", "26.00"),
    "04": ("72.00", 5, {"1": 6, "2": 5}, "50.00", "22.00"),
    "05": ("66.00", 6, {"1": 5, "2": 6}, "47.00", "19.00"),
    "08": ("100.00", None, {"1": None, "2": None}, "70.00", "30.00"),
}

# Against 2023, rank change = previous rank - rank (positive: rose), index change = index - previous index:
#   01: 3 -> 1  +2 (rose)    93.00 - 85.50 =  +7.50
#   02: 2 -> 2   0 (stayed)  88.00 - 90.00 =  -2.00
#   03: 5 -> 2  +3 (rose)    88.00 - 75.00 = +13.00   largest rise
#   04: 1 -> 5  -4 (fell)    72.00 - 95.00 = -23.00   largest fall
#   05: 6 -> 6   0 (stayed)  66.00 - 70.00 =  -4.00
#   07: new                  (no previous, no change)
#   08: not ranked in either round: no rank change, 100.00 - 97.50 = +2.50
CHANGES = {
    #       prev rank  prev index  rank change  index change
    "01": (3, "85.50", 2, "7.50"),
    "02": (2, "90.00", 0, "-2.00"),
    "03": (5, "75.00", 3, "13.00"),
    "04": (1, "95.00", -4, "-23.00"),
    "05": (6, "70.00", 0, "-4.00"),
    "08": (None, "97.50", None, "2.50"),
}


def points_of(table: dict[str, tuple[str, ...]]) -> dict[str, dict[str, Decimal]]:
    return {unit: dict(zip(LEAVES, map(D, values), strict=True)) for unit, values in table.items()}


@pytest.fixture(scope="module")
def framework() -> Framework:
    return Framework.from_data(TREE)


@pytest.fixture(scope="module")
def previous(framework) -> list[results.UnitResult]:
    return results.compute(framework, BEFORE_UNITS, points_of(BEFORE), THRESHOLDS)


@pytest.fixture(scope="module")
def compared(framework, previous) -> list[results.UnitResult]:
    current = results.compute(framework, CURRENT_UNITS, points_of(CURRENT), THRESHOLDS)
    return results.compare(current, previous, "2023-province")


@pytest.fixture(scope="module")
def by_code(compared) -> dict[str, results.UnitResult]:
    return {r.unit.code: r for r in compared}


def test_the_previous_round_ranks_as_worked_out(previous):
    assert [(r.unit.code, r.index, r.rank) for r in previous] == [
        ("04", D("95.00"), 1), ("02", D("90.00"), 2), ("01", D("85.50"), 3), ("06", D("80.00"), 4),
        ("03", D("75.00"), 5), ("05", D("70.00"), 6), ("08", D("97.50"), None)]


def test_index_rank_field_ranks_and_parts_match_the_hand_computed_table(by_code):
    assert set(by_code) == set(EXPECTED)
    for code, (index, rank, field_ranks, appraisal, survey) in EXPECTED.items():
        result = by_code[code]
        assert (result.index, result.rank) == (D(index), rank), code
        assert result.field_ranks == field_ranks, code
        assert result.parts == {"appraisal": D(appraisal), "targets": D("0.00"), "survey": D(survey)}, code
        assert sum(result.parts.values(), D(0)) == result.index, code


def test_a_field_tie_shares_the_rank_and_skips_the_next(by_code):
    assert [by_code[c].field_ranks["1"] for c in ("01", "03", "02")] == [1, 1, 3]
    assert [by_code[c].field_ranks["2"] for c in ("03", "07", "04")] == [3, 3, 5]


def test_parts_stay_two_place_decimals_and_list_the_three_methods_in_order(by_code):
    for result in by_code.values():
        assert list(result.parts) == ["appraisal", "targets", "survey"]
        assert all(isinstance(v, Decimal) and v.as_tuple().exponent == -2 for v in result.parts.values())


def test_rank_and_index_change_against_the_previous_round(by_code):
    for code, (rank, index, rank_change, index_change) in CHANGES.items():
        result = by_code[code]
        assert result.previous == results.Previous("2023-province", rank, D(index)), code
        assert (result.rank_change, result.index_change, result.new) == (rank_change, D(index_change), False), code
    assert by_code["04"].previous.rank - by_code["04"].rank == -4  # fell: the sign is previous rank - rank


def test_a_unit_new_in_this_round_is_marked_new_without_a_change(by_code):
    new = by_code["07"]
    assert (new.new, new.previous, new.rank_change, new.index_change) == (True, None, None, None)
    assert [code for code, r in by_code.items() if r.new] == ["07"]


def test_a_unit_that_left_is_not_in_the_current_results(compared, previous):
    assert "06" in {r.unit.code for r in previous}
    assert "06" not in {r.unit.code for r in compared}
    assert len(compared) == len(CURRENT_UNITS)


def test_the_order_stays_rank_then_code_with_the_unranked_last(compared):
    assert [(r.unit.code, r.rank) for r in compared] == [
        ("01", 1), ("02", 2), ("03", 2), ("07", 4), ("04", 5), ("05", 6), ("08", None)]


def test_the_summary_counts_moves_groups_and_the_units_above_the_mean(compared):
    summary = results.summary(compared, THRESHOLDS, "2023-province")
    # mean of the ranked: (93 + 88 + 88 + 85 + 72 + 66) / 6 = 492 / 6 = 82.00; 08 (100.00) is left out
    assert (summary.ranked, summary.mean) == (6, D("82.00"))
    assert summary.above_mean == 4  # 01 93, 02 88, 03 88, 07 85; not 04 72 nor 05 66
    assert (summary.groups, summary.ungrouped) == ({"A": 1, "B": 3, "C": 1}, 1)  # 08's A is not counted
    assert summary.regions == {"North": (D("93.00") + D("88.00") + D("88.00")) / 3,
                               "South": (D("85.00") + D("72.00") + D("66.00")) / 3}
    assert summary.previous_round == "2023-province"
    # compared: ranked in both (01, 02, 03, 04, 05); rose 01 03, fell 04, stayed 02 05; new 07
    assert (summary.compared, summary.rose, summary.fell, summary.stayed, summary.new) == (5, 2, 1, 2, 1)
    assert summary.largest_rise == results.Movement(("03",), 3)
    assert summary.largest_fall == results.Movement(("04",), -4)
    # index changes of 01 +7.50, 03 +13.00 (rose) and 02 -2.00, 04 -23.00, 05 -4.00 (fell); 07 new, 08 not ranked
    assert summary.index_moves == results.IndexMoves(rose=2, fell=3, largest_rise=D("13.00"), smallest_rise=D("7.50"),
                                                     largest_fall=D("-23.00"), smallest_fall=D("-2.00"))


def test_every_group_is_counted_even_when_empty(framework):
    computed = results.compute(framework, [Unit("01", "Low", "North")], {}, THRESHOLDS)
    summary = results.summary(computed, THRESHOLDS)
    assert (summary.groups, summary.ungrouped, summary.mean, summary.above_mean) == (
        {"A": 0, "B": 0, "C": 0}, 1, D("0.00"), 0)
    assert (summary.compared, summary.largest_rise, summary.largest_fall, summary.previous_round) == (
        0, None, None, None)


def test_without_a_previous_round_nothing_is_compared_and_nothing_is_new(framework):
    current = results.compute(framework, CURRENT_UNITS, points_of(CURRENT), THRESHOLDS)
    assert results.compare(current, None) == current
    assert all(r.previous is None and r.rank_change is None and not r.new for r in current)


def test_units_sharing_the_largest_rise_or_fall_are_all_named(framework):
    def full_but(survey: dict[str, str]) -> dict[str, dict[str, Decimal]]:  # only leaf 2.2 differs
        return {unit: {"1.1": D("30.00"), "1.2": D("20.00"), "2.1": D("40.00"), "2.2": D(value)}
                for unit, value in survey.items()}
    units = BEFORE_UNITS[:4]
    before = results.compute(framework, units, full_but({"01": "10", "02": "9", "03": "8", "04": "7"}), THRESHOLDS)
    now = results.compute(framework, units, full_but({"03": "10", "04": "9", "01": "8", "02": "7"}), THRESHOLDS)
    # 03: 3 -> 1 (+2), 04: 4 -> 2 (+2), 01: 1 -> 3 (-2), 02: 2 -> 4 (-2)
    summary = results.summary(results.compare(now, before, "2023-province"), THRESHOLDS, "2023-province")
    assert summary.largest_rise == results.Movement(("03", "04"), 2)
    assert summary.largest_fall == results.Movement(("01", "02"), -2)
    assert (summary.rose, summary.fell, summary.stayed) == (2, 2, 0)


def test_parts_follow_whatever_methods_the_leaves_have():
    # Built directly (not from data), so the test does not depend on the methods the loader accepts.
    def leaf(code: str, points: str, method: str) -> Node:
        return Node(code, f"Leaf {code}", D(points), method=method)
    tree = Framework(id="t", level="province", title="", data={}, hash="", fields=(
        Node("1", "One", D("100.00"), children=(leaf("1.1", "50.00", "appraisal"), leaf("1.2", "30.00", "targets"),
                                                 leaf("1.3", "20.00", "interview"))),))
    (result,) = results.compute(tree, [Unit("01", "One", "North")],
                                {"01": {"1.1": D("40.00"), "1.2": D("25.50"), "1.3": D("10.00")}}, THRESHOLDS)
    assert result.parts == {"appraisal": D("40.00"), "targets": D("25.50"), "survey": D("0.00"),
                            "interview": D("10.00")}
    assert results.field_maxima(tree) == {"1": D("100.00")}
