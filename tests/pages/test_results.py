"""A round's results page: rank, unit, index, group, each field as points over its maximum with its component index,
the rank change against the previous round of the level, the averages by region in Vietnamese, a chart per field."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from council.services.round_service import RoundPlan
from tests.builders import SECRETARIAT, UNITS, WINDOWS, full_self_assessment


@pytest.fixture
def two_years(council) -> str:
    """2023: 79 at full marks, 01 at half; 2024: the other way round (current points count while not final)."""
    for year, full, half in ((2023, "79", "01"), (2024, "01", "79")):
        council.open_round(RoundPlan(year, "province-876-2022", UNITS, WINDOWS), SECRETARIAT)
        full_self_assessment(council, f"{year}-province", full, fraction=Decimal(1))
        full_self_assessment(council, f"{year}-province", half, fraction=Decimal("0.5"))
    return "2024-province"


def result_rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-testid="results-row" data-unit="(\w+)">(.*?)</tr>', page, flags=re.S))


def test_the_results_show_rank_index_fields_over_their_maximum_and_the_rank_change(as_, two_years):
    page = as_("inspector").get(f"/rounds/{two_years}/results").get_data(as_text=True)
    rows = result_rows(page)
    assert list(rows) == ["01", "79", "48"]
    first = rows["01"]
    assert "Hà Nội" in first and "Đồng bằng sông Hồng" in first
    assert re.search(r'data-testid="rank-change">\s*▲1\s*<', first)
    assert re.search(r'data-testid="rank-change">\s*▼1\s*<', rows["79"])
    assert re.search(r'data-testid="rank-change">\s*=\s*<', rows["48"])
    assert re.search(r"\b\d+\.\d\d/9\.50\b", first)  # field 1: points over its maximum, two decimals
    assert "So với đợt 2023-province" in page


def test_the_averages_are_national_and_by_region_in_vietnamese(as_, two_years):
    page = as_("inspector").get(f"/rounds/{two_years}/results").get_data(as_text=True)
    averages = re.findall(r'<tr data-testid="average-row"><td>([^<]+)</td>', page)
    assert averages[0] == "Cả nước"
    assert {"Đồng bằng sông Hồng", "Đông Nam Bộ", "Bắc Trung Bộ và duyên hải miền Trung"} <= set(averages)


def test_each_field_has_an_inline_svg_chart_with_a_bar_per_unit(as_, two_years, council):
    page = as_("inspector").get(f"/rounds/{two_years}/results").get_data(as_text=True)
    charts = re.findall(r'<svg class="chart" data-testid="field-chart" data-field="(\d+)".*?</svg>', page, flags=re.S)
    assert charts == [node.code for node in council.framework(two_years).fields]
    first = re.search(r'<svg class="chart".*?</svg>', page, flags=re.S).group(0)
    assert first.count("<rect") == 3
    assert "cdn" not in page.lower() and "<script" not in page.lower()  # nothing fetched, nothing run


def test_a_round_without_a_previous_one_shows_no_rank_change(as_, council):
    council.open_round(RoundPlan(2024, "province-876-2022", UNITS, WINDOWS), SECRETARIAT)
    page = as_("inspector").get("/rounds/2024-province/results").get_data(as_text=True)
    assert 'data-testid="rank-change"' not in page and len(result_rows(page)) == 3
