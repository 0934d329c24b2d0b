"""The provincial tree with the published field maxima and the socio-economic targets method (issue 12, done-when
1): it validates, the Secretariat records target points with their source and nobody self-scores them, and rounds
recorded with the 2022 tree keep replaying and verifying beside rounds of the new one."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from council.infra import criteria_trees
from council.services.round_service import RoundPlan
from domain.errors import FrameworkError, NotFoundError, NotTargetsLeafError, ReasonRequiredError, SurveyLeafError
from domain.framework import Framework
from domain.values import ScoreAddress
from tests.builders import SECRETARIAT, UNITS, WINDOWS, officer
from tests.integration.test_stored_events import load_fixture

PUBLISHED = {"1": "9.50", "3": "13.00", "4": "10.50", "5": "15.00", "8": "16.50"}
V2 = "province-876-2022-v2"


def test_the_published_tree_has_the_published_field_maxima_and_three_methods():
    tree = criteria_trees.load(V2)
    maxima = {field.code: field.max_points for field in tree.fields}
    assert {code: maxima[code] for code in PUBLISHED} == {code: Decimal(v) for code, v in PUBLISHED.items()}
    assert maxima["2"] + maxima["6"] + maxima["7"] == Decimal("35.50")
    assert (tree.total("appraisal"), tree.total("targets"), tree.total("survey"), tree.total()) == (
        Decimal("61.50"), Decimal("6.50"), Decimal("32.00"), Decimal("100.00"))
    assert tree.data["supersedes"] == "province-876-2022" and tree.data["reconstructed"] is True
    old = criteria_trees.load("province-876-2022")
    assert [leaf.code for leaf in tree.leaves()] == [leaf.code for leaf in old.leaves()]  # same codes, re-read


def test_a_tree_whose_field_maximum_differs_from_its_expected_one_is_refused():
    data = json.loads(json.dumps(criteria_trees.load(V2).data))
    data["expected"]["field_points"]["8"] = "16.00"
    with pytest.raises(FrameworkError, match=r"field 8 has max 16\.50, expected 16\.00"):
        Framework.from_data(data)


def test_target_points_are_recorded_by_the_secretariat_with_their_source_and_never_self_scored(council, clock):
    council.open_round(RoundPlan(2024, V2, UNITS, WINDOWS), SECRETARIAT)
    key = "2024-province"
    with pytest.raises(SurveyLeafError, match="socio-economic targets"):
        council.self_score(ScoreAddress(key, "01", "8.4.1"), "1.00", officer("01"))
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    with pytest.raises(ReasonRequiredError):
        council.record_targets(key, "01", {"8.4.1": "1.25"}, SECRETARIAT, source="  ")
    with pytest.raises(NotTargetsLeafError):
        council.record_targets(key, "01", {"8.4.1": "1.25", "2.1.1": "0.50"}, SECRETARIAT, source="NGTK 2024")
    with pytest.raises(NotFoundError):  # all or nothing: not even the valid leaf's stream was opened
        council.score(ScoreAddress(key, "01", "8.4.1"))
    receipts = council.record_targets(key, "01", {"8.4.1": "1.25", "8.5": "1.50"}, SECRETARIAT,
                                      source="Niên giám thống kê 2024, Cục Thống kê TP Hà Nội")
    assert [r.type for r in receipts] == ["opened", "targets-scored", "opened", "targets-scored"]
    history = council.history(ScoreAddress(key, "01", "8.4.1"))
    assert history["events"][-1]["data"]["source"].startswith("Niên giám thống kê 2024")
    assert council.score(ScoreAddress(key, "01", "8.4.1"))["points"] == Decimal("1.25")


def test_a_round_of_the_2022_tree_replays_and_verifies_beside_a_round_of_the_published_tree(council, read_models):
    load_fixture(council)  # a 2024 provincial round recorded by version 1 with the 2022 tree
    council.open_round(RoundPlan(2025, V2, UNITS, WINDOWS), SECRETARIAT)
    assert council.round("2024-province")["framework"]["id"] == "province-876-2022"
    assert council.round("2025-province")["framework"]["id"] == V2
    assert council.score(ScoreAddress("2024-province", "01", "2.1.1"))["points"] == Decimal("0.25")
    assert council.verify_log()["valid"] is True
    assert read_models.results("2024-province")["units"]  # the old round's results still compute
