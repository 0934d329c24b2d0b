"""The Secretariat reads a round's results: one row per unit, a chart per field, the downloads with the session."""

from __future__ import annotations

from typing import Any

from tests.browser import harness


def test_the_results_page_ranks_every_unit_charts_each_field_and_downloads(page: Any,
                                                                           prepared: harness.PreparedRound):
    harness.login(page, prepared.tokens["secretariat"], f"/rounds/{prepared.key}/results")
    table = page.get_by_test_id("results-table")
    table.wait_for()
    rows = page.get_by_test_id("results-row")
    assert rows.count() == len(prepared.units)
    shown = " ".join(rows.all_inner_texts())
    assert all(name in shown for name in prepared.units.values()), shown
    charts = page.get_by_test_id("field-chart")
    assert charts.count() >= 8  # the provincial tree's eight fields
    assert all(chart.evaluate("node => node.tagName.toLowerCase()") == "svg"
               or chart.locator("svg").count() == 1 for chart in charts.all())

    for testid, magic in (("download-xlsx", b"PK\x03\x04"), ("download-csv", b"")):
        href = page.get_by_test_id(testid).get_attribute("href")
        assert href, testid
        answer = page.request.get(href)  # the page's own cookies: no bearer header
        assert answer.status == 200, f"{testid} {href}: {answer.status}"
        assert answer.body().startswith(magic)
        if testid == "download-csv":
            assert prepared.units["01"] in answer.body().decode("utf-8-sig")
