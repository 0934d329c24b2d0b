"""Criteria trees: the shipped ones load; a tree that does not add up is refused with the node named."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from council.infra import criteria_trees as frameworks
from domain.errors import FrameworkError
from domain.framework import Framework


def province_data() -> dict:
    return copy.deepcopy(dict(frameworks.load("province-876-2022").data))


@pytest.mark.parametrize(
    ("framework_id", "counts", "appraisal", "survey"),
    [
        ("province-876-2022", (8, 37, 88), "68.00", "32.00"),
        ("ministry-876-2022", (7, 38, 97), "68.50", "31.50"),
    ],
)
def test_shipped_trees_load_with_the_counts_and_totals_of_decision_876(framework_id, counts, appraisal, survey):
    tree = frameworks.load(framework_id)
    depths = [node.depth for node in tree.nodes()]
    assert (depths.count(1), depths.count(2), depths.count(3)) == counts
    assert tree.total("appraisal") == Decimal(appraisal)
    assert tree.total("survey") == Decimal(survey)
    assert tree.data["reconstructed"] is True


def test_ministry_fields_have_the_criteria_and_sub_criteria_of_the_method():
    tree = frameworks.load("ministry-876-2022")
    shape = [(len(f.children), sum(len(c.children) for c in f.children)) for f in tree.fields]
    assert shape == [(7, 6), (9, 15), (6, 19), (4, 14), (6, 16), (3, 13), (3, 14)]


def test_leaves_sit_at_level_two_or_three():
    tree = frameworks.load("ministry-876-2022")
    assert {leaf.depth for leaf in tree.leaves()} == {2, 3}


def test_a_leaf_whose_points_break_its_parents_sum_is_refused_naming_the_parent():
    data = province_data()
    criterion = data["fields"][0]["children"][0]
    criterion["children"][0]["max_points"] = str(Decimal(criterion["children"][0]["max_points"]) + 1)
    with pytest.raises(FrameworkError, match=f"node {criterion['code']}: children add up to"):
        Framework.from_data(data)


def test_a_duplicate_code_is_refused_naming_it():
    data = province_data()
    leaves = data["fields"][2]["children"][0]["children"]
    leaves[1]["code"] = leaves[0]["code"]
    with pytest.raises(FrameworkError, match=f"node {leaves[0]['code']}: code is used twice"):
        Framework.from_data(data)


def test_a_tree_that_does_not_total_100_is_refused():
    data = province_data()
    data["fields"].pop()  # field 8 goes: sums still hold below, the total does not
    data.pop("expected")
    with pytest.raises(FrameworkError, match=r"add up to 74\.00, not 100\.00"):
        Framework.from_data(data)


def test_a_leaf_without_a_known_method_is_refused_naming_it():
    data = province_data()
    leaf = data["fields"][0]["children"][0]["children"][0]
    leaf["method"] = "guess"
    with pytest.raises(FrameworkError, match=f"node {leaf['code']}: method"):
        Framework.from_data(data)


def test_counts_that_differ_from_the_declared_ones_are_refused():
    data = province_data()
    data["expected"]["sub_criteria"] = 87
    with pytest.raises(FrameworkError, match="88 sub_criteria, expected 87"):
        Framework.from_data(data)


def test_a_leaf_with_points_off_two_decimals_is_refused():
    data = province_data()
    data["fields"][0]["children"][0]["children"][0]["max_points"] = "0.505"
    with pytest.raises(FrameworkError, match="max_points"):
        Framework.from_data(data)


def test_the_content_hash_changes_with_the_content_and_not_with_key_order():
    data = province_data()
    reordered = json.loads(json.dumps(data, sort_keys=True))
    assert Framework.from_data(reordered).hash == Framework.from_data(data).hash
    data["fields"][0]["title"] += " (sửa)"
    assert Framework.from_data(data).hash != frameworks.load("province-876-2022").hash
