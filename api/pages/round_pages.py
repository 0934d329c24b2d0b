"""The rounds: the home page, a round's results with a chart per field, and the results' downloads."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Response, g, render_template

from api import spreadsheets
from api.pages import blp
from api.read_endpoints import export
from api.wiring import council, read_models
from domain.results import UnitResult

BAR, GAP, HEIGHT = 10, 2, 120  # the charts' bar width, gap and full height (100 %), in SVG units


@dataclass(frozen=True)
class Bar:
    x: int
    height: float
    unit: UnitResult
    component: Decimal


@dataclass(frozen=True)
class Chart:
    """One field: a bar per unit (its component index, from `floor` to 100 %) in the results' order, and the line
    of the ranked units' mean."""

    code: str
    title: str
    maximum: Decimal
    bars: list[Bar]
    mean_y: float
    width: int
    floor: int


@blp.route("/")
def home() -> str:
    """Every round, newest first, with the links the signed-in principal can follow."""
    rounds = [council().round(key) for key in council().round_keys()]
    return render_template("home.html", rounds=rounds[::-1])


@blp.route("/rounds/<round_key>/results")
def results(round_key: str) -> str:
    found = read_models().results(round_key, reader=g.actor)
    fields = council().framework(round_key).fields
    charts = [chart(found["units"], node.code, node.title, found["maxima"][node.code]) for node in fields]
    return render_template("results.html", round_key=round_key, results=found, fields=fields, charts=charts)


@blp.route("/rounds/<round_key>/results.<any(xlsx, csv):fmt>")
def download(round_key: str, fmt: str) -> Response:
    """The same files as GET /api/v1/rounds/<key>/results?format=…, made by the same functions."""
    found = read_models().results(round_key, reader=g.actor)
    return export(fmt, f"results-{round_key}", *spreadsheets.results_rows(found))


def chart(units: list[UnitResult], code: str, title: str, maximum: Decimal) -> Chart:
    """The scale starts at the tens below the lowest index (most units score 85-100 %: from 0 every bar would look
    the same); the page prints the scale under the chart."""
    values = [r.components[code] for r in units] or [Decimal(0)]
    floor = min(int(min(values)) // 10 * 10, 90)

    def height(value: Decimal) -> float:
        return max(float(value) - floor, 0) * HEIGHT / (100 - floor)

    bars = [Bar(i * (BAR + GAP), height(r.components[code]), r, r.components[code]) for i, r in enumerate(units)]
    ranked = [r.components[code] for r in units if r.rank is not None] or [Decimal(floor)]
    mean = sum(ranked) / len(ranked)
    return Chart(code, title, maximum, bars, HEIGHT - height(mean), max(len(bars), 1) * (BAR + GAP), floor)


@blp.app_template_filter("signed")
def signed(change: Any) -> str:
    """A rank change as people read it: ▲3 (rose three places), ▼2, = (kept its place)."""
    if change is None:
        return "—"
    return "=" if change == 0 else f"▲{change}" if change > 0 else f"▼{-change}"
