"""Index, component indices, ranks, groups and averages checked against numbers worked out by hand.

The tree is tiny on purpose, so that every expected number below can be re-computed on paper:

    field 1 (max 60.00): 1.1 appraisal 30.00 + 1.2 appraisal 30.00
    field 2 (max 40.00): 2.1 appraisal 20.00 + 2.2 survey    20.00        total 100.00

Thresholds of the round: A >= 90, B >= 80, C >= 70, below 70 no group.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import results
from domain.framework import Framework
from domain.values import Unit

D = Decimal

TREE = {
    "id": "hand-made-2-fields",
    "level": "province",
    "title": "A hand-made tree for the ranking tests",
    "fields": [
        {"code": "1", "title": "Field one", "max_points": "60.00", "children": [
            {"code": "1.1", "title": "Leaf 1.1", "max_points": "30.00", "method": "appraisal"},
            {"code": "1.2", "title": "Leaf 1.2", "max_points": "30.00", "method": "appraisal"},
        ]},
        {"code": "2", "title": "Field two", "max_points": "40.00", "children": [
            {"code": "2.1", "title": "Leaf 2.1", "max_points": "20.00", "method": "appraisal"},
            {"code": "2.2", "title": "Leaf 2.2", "max_points": "20.00", "method": "survey"},
        ]},
    ],
}
THRESHOLDS = {"A": D(90), "B": D(80), "C": D(70)}

UNITS = [
    Unit("01", "Unranked city", "North", ranked=False),
    Unit("02", "Province two", "North"),
    Unit("03", "Province three", "North"),
    Unit("04", "Province four", "South"),
    Unit("05", "Province five", "South"),
    Unit("06", "Province six", "Central"),
    Unit("07", "Province seven", "Central"),
]

# unit: (1.1, 1.2, 2.1, 2.2) leaf points
POINTS = {
    "01": ("30.00", "30.00", "20.00", "18.00"),
    "02": ("30.00", "27.00", "17.01", "18.00"),
    "03": ("30.00", "18.03", "18.98", "18.00"),
    "04": ("25.00", "20.00", "20.00", "20.00"),
    "05": ("30.00", "24.00", "15.00", "16.00"),
    "06": ("24.00", "24.00", "16.00", "16.00"),
    "07": ("21.00", "21.00", "20.00", "7.99"),
}

# Worked by hand. f1 = 1.1 + 1.2, f2 = 2.1 + 2.2, index = f1 + f2; component = field * 100 / max (60 or 40);
# ranks of the ranked units in competition order 1,2,3,3,5,6; thresholds A 90, B 80, C 70.
#
# unit  f1 (of 60)         f2 (of 40)          index  comp 1              comp 2                rank  group
# 01    30+30    = 60.00   20+18    = 38.00    98.00  60*100/60 = 100     38*100/40 = 95        None  A (not ranked)
# 02    30+27    = 57.00   17.01+18 = 35.01    92.01  57*100/60 = 95      35.01*100/40 = 87.525 1     A
# 03    30+18.03 = 48.03   18.98+18 = 36.98    85.01  48.03*100/60 = 80.05 36.98*100/40 = 92.45 2     B
# 04    25+20    = 45.00   20+20    = 40.00    85.00  45*100/60 = 75      40*100/40 = 100       3     B  } tie: 3, 3
# 05    30+24    = 54.00   15+16    = 31.00    85.00  54*100/60 = 90      31*100/40 = 77.5      3     B  } 4 skipped
# 06    24+24    = 48.00   16+16    = 32.00    80.00  48*100/60 = 80      32*100/40 = 80        5     B (exactly 80)
# 07    21+21    = 42.00   20+7.99  = 27.99    69.99  42*100/60 = 70      27.99*100/40 = 69.975 6     None (< 70)
EXPECTED = {
    #       field 1   field 2   index    comp 1    comp 2     rank  group
    "01": ("60.00", "38.00", "98.00", "100", "95", None, "A"),
    "02": ("57.00", "35.01", "92.01", "95", "87.525", 1, "A"),
    "03": ("48.03", "36.98", "85.01", "80.05", "92.45", 2, "B"),
    "04": ("45.00", "40.00", "85.00", "75", "100", 3, "B"),
    "05": ("54.00", "31.00", "85.00", "90", "77.5", 3, "B"),
    "06": ("48.00", "32.00", "80.00", "80", "80", 5, "B"),
    "07": ("42.00", "27.99", "69.99", "70", "69.975", 6, None),
}

# Averages over ranked units only (01 is left out, although it is in the North and has the highest index):
#   national: (92.01 + 85.01 + 85.00 + 85.00 + 80.00 + 69.99) / 6 = 497.01 / 6 = 82.835
#   North:    (92.01 + 85.01) / 2 = 177.02 / 2 = 88.51      (with 01 it would be 275.02 / 3 = 91.67…)
#   South:    (85.00 + 85.00) / 2 = 85.00
#   Central:  (80.00 + 69.99) / 2 = 149.99 / 2 = 74.995
AVERAGES = {"national": D("82.835"), "North": D("88.51"), "South": D("85.00"), "Central": D("74.995")}


@pytest.fixture(scope="module")
def framework() -> Framework:
    return Framework.from_data(TREE)


@pytest.fixture(scope="module")
def computed(framework):
    points = {unit: dict(zip(("1.1", "1.2", "2.1", "2.2"), map(D, values), strict=True))
              for unit, values in POINTS.items()}
    return results.compute(framework, UNITS, points, THRESHOLDS)


def test_the_hand_made_tree_is_a_valid_tree_of_100_points(framework):
    assert framework.total() == D("100.00")
    assert (framework.total("appraisal"), framework.total("survey")) == (D("80.00"), D("20.00"))


def test_every_unit_matches_the_hand_computed_table(computed):
    by_code = {r.unit.code: r for r in computed}
    assert set(by_code) == set(EXPECTED)
    for code, (field1, field2, index, comp1, comp2, rank, group) in EXPECTED.items():
        result = by_code[code]
        assert result.fields == {"1": D(field1), "2": D(field2)}, code
        assert result.index == D(index), code
        assert result.components == {"1": D(comp1), "2": D(comp2)}, code
        assert (result.rank, result.group) == (rank, group), code


def test_points_stay_exact_decimals_with_two_places(computed):
    for result in computed:
        assert isinstance(result.index, Decimal)
        assert result.index.as_tuple().exponent == -2, result.unit.code
        assert all(value.as_tuple().exponent == -2 for value in result.fields.values())


def test_ranked_units_come_first_by_rank_then_code_and_the_unranked_unit_last(computed):
    assert [(r.unit.code, r.rank) for r in computed] == [
        ("02", 1), ("03", 2), ("04", 3), ("05", 3), ("06", 5), ("07", 6), ("01", None)]


def test_a_tie_shares_the_rank_and_the_next_rank_is_skipped(computed):
    ranks = [r.rank for r in computed if r.rank is not None]
    assert ranks == [1, 2, 3, 3, 5, 6]
    assert 4 not in ranks


def test_one_hundredth_of_a_point_separates_two_ranks(computed):
    by_code = {r.unit.code: r for r in computed}
    assert by_code["03"].index - by_code["04"].index == D("0.01")
    assert (by_code["03"].rank, by_code["04"].rank) == (2, 3)


def test_the_unranked_unit_has_the_highest_index_but_no_rank(computed):
    unranked = next(r for r in computed if not r.unit.ranked)
    assert unranked.index == max(r.index for r in computed) == D("98.00")
    assert unranked.rank is None


def test_averages_are_exact_and_leave_out_the_unranked_unit(computed):
    averages = results.averages(computed)
    assert averages == AVERAGES
    assert averages["national"] * 6 == D("497.01")
    assert averages["North"] != (D("98.00") + D("92.01") + D("85.01")) / 3


def test_a_region_with_only_unranked_units_gets_no_average(framework):
    units = [Unit("01", "Ranked", "North"), Unit("02", "Not ranked", "Islands", ranked=False)]
    full = {leaf.code: leaf.max_points for leaf in framework.leaves()}
    computed = results.compute(framework, units, {"01": full, "02": full}, THRESHOLDS)
    assert results.averages(computed) == {"national": D("100.00"), "North": D("100.00")}


def test_a_unit_without_any_points_scores_zero_everywhere(framework):
    (result,) = results.compute(framework, [Unit("09", "Silent", "North")], {}, THRESHOLDS)
    assert (result.index, result.fields, result.rank, result.group) == (
        D("0.00"), {"1": D("0.00"), "2": D("0.00")}, 1, None)
    assert result.components == {"1": D(0), "2": D(0)}


@pytest.mark.parametrize(("index", "group"), [
    ("100.00", "A"), ("90.00", "A"), ("89.99", "B"), ("80.00", "B"), ("79.99", "C"), ("70.00", "C"),
    ("69.99", None), ("0.00", None),
])
def test_groups_start_exactly_at_their_threshold(index, group):
    assert results.group_of(D(index), THRESHOLDS) == group


def test_rank_compares_unrounded_values():
    # 85.004 and 85.001 both print as 85.00, but 85.004 is higher: ranks follow the unrounded value.
    values = {"a": D("85.001"), "b": D("85.004"), "c": D("85.0040"), "d": D("84.999")}
    assert results.rank(values) == {"b": 1, "c": 1, "a": 3, "d": 4}


def test_component_is_unrounded_and_zero_for_an_empty_field():
    assert results.component(D("45.00"), D("60.00")) == D(75)
    assert results.component(D("10.00"), D("30.00")) == D(1000) / D(30)  # 33.333…, not 33.33
    assert results.component(D("10.00"), D("30.00")) != D("33.33")
    assert results.component(D("0.00"), D("0.00")) == D("0.00")
