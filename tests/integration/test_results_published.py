"""Results compared with the previous round of the same level, from the views, on SQLite and on PostgreSQL.

Three rounds: 2022-province, 2023-ministry (the nearest earlier year, of the other level, with the same unit
codes) and 2024-province. The 2024 provincial round is compared with 2022's, never with the ministries' round.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from council.services.round_service import RoundPlan
from domain.errors import PermissionDeniedError
from domain.values import Actor, Role, ScoreAddress
from tests.builders import SECRETARIAT, UNITS, WINDOWS, full_self_assessment, officer, open_round

D = Decimal
MERGED = {"code": "96", "name": "Tỉnh mới sau sáp nhập", "region": "Mekong River Delta"}
LEFT = {"code": "31", "name": "Hải Phòng", "region": "Red River Delta"}

# fraction of every appraisal leaf's maximum each unit self-assesses (no unit gets survey points)
FRACTIONS = {
    "2022-province": {"01": "0.25", "79": "1", "48": "0.5", "31": "0.75"},  # ranks 79, 31, 48, 01
    "2023-ministry": {"01": "1", "79": "0.25", "48": "0.5"},  # 01 first: were it used, 01 would not rise
    "2024-province": {"01": "1", "79": "0.5", "96": "0.75"},  # ranks 01, 96, 79, 48 (48 scores nothing)
}


@pytest.fixture
def rounds(council):
    council.open_round(RoundPlan(2022, "province-876-2022", [*UNITS, LEFT], WINDOWS), SECRETARIAT)
    council.open_round(RoundPlan(2023, "ministry-876-2022", UNITS, WINDOWS), SECRETARIAT)
    assert open_round(council, units=[*UNITS, MERGED]) == "2024-province"
    for key, fractions in FRACTIONS.items():
        for unit, fraction in fractions.items():
            full_self_assessment(council, key, unit, fraction=D(fraction))
    return list(FRACTIONS)


def test_the_later_round_is_compared_with_the_earlier_round_of_its_level(read_models, rounds):
    earlier = {r.unit.code: r for r in read_models.results("2022-province")["units"]}
    found = read_models.results("2024-province")
    assert found["previous_round"] == "2022-province"
    later = {r.unit.code: r for r in found["units"]}
    assert [(code, earlier[code].rank) for code in ("79", "31", "48", "01")] == [
        ("79", 1), ("31", 2), ("48", 3), ("01", 4)]
    assert [(r.unit.code, r.rank) for r in found["units"]] == [("01", 1), ("96", 2), ("79", 3), ("48", 4)]
    for code in ("01", "79", "48"):
        result, before = later[code], earlier[code]
        assert result.previous is not None and result.previous.round == "2022-province", code
        assert (result.previous.rank, result.previous.index) == (before.rank, before.index), code
        assert result.rank_change == before.rank - result.rank, code
        assert result.index_change == result.index - before.index, code
        assert not result.new
    assert (later["01"].rank_change, later["79"].rank_change, later["48"].rank_change) == (3, -2, -1)
    assert later["48"].index_change == -earlier["48"].index  # nothing scored in 2024
    merged = later["96"]
    assert (merged.new, merged.previous, merged.rank_change, merged.index_change) == (True, None, None, None)
    assert "31" not in later  # a unit that left is not shown
    summary = found["summary"]
    assert (summary.previous_round, summary.compared, summary.rose, summary.fell, summary.stayed, summary.new) == (
        "2022-province", 3, 1, 2, 0, 1)
    assert (summary.largest_rise.units, summary.largest_rise.change) == (("01",), 3)
    assert (summary.largest_fall.units, summary.largest_fall.change) == (("79",), -2)


def test_a_round_of_the_other_level_is_never_the_previous_one(read_models, rounds):
    ministries = read_models.results("2023-ministry")
    assert ministries["previous_round"] is None  # no earlier ministry round; the 2022 provincial one is not it
    assert all(r.previous is None and r.rank_change is None and not r.new for r in ministries["units"])
    later = read_models.results("2024-province")
    assert later["previous_round"] == "2022-province"
    assert {r.previous.round for r in later["units"] if r.previous is not None} == {"2022-province"}
    ministry_index = {r.unit.code: r.index for r in ministries["units"]}
    assert later["units"][0].previous.index != ministry_index["01"]


def test_the_first_round_of_a_level_has_nothing_to_compare_with(read_models, rounds):
    first = read_models.results("2022-province")
    assert first["previous_round"] is None and first["summary"].previous_round is None
    assert all(r.previous is None and not r.new for r in first["units"])
    assert first["summary"].compared == 0 and first["summary"].largest_rise is None
    assert first["summary"].groups.keys() == {"A", "B", "C"}


def test_kept_results_follow_every_write_and_never_skip_the_readers_check(council, read_models):
    """Results are kept per position of the views (issue 13): a write moves the position, so the next read
    computes again; a unit refused before publication stays refused when an inspector's read was kept."""
    inspector = Actor(id="thanhtra@moha", role=Role.INSPECTOR)
    key = open_round(council)
    first = read_models.results(key, inspector)
    assert read_models.results(key, inspector)["units"] is first["units"]  # the same position: kept
    council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
    again = read_models.results(key, inspector)
    assert next(r.index for r in again["units"] if r.unit.code == "01") == Decimal("0.50")
    with pytest.raises(PermissionDeniedError):
        read_models.results(key, officer("01"))
