"""The hash chain and exact points, checked over many generated cases."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import PointsOffGridError
from domain.integrity import first_broken
from domain.values import to_points
from tests.unit.test_rules import appraisal_round

cents = st.integers(min_value=0, max_value=10_000)


@given(cents)
def test_points_with_two_decimals_parse_exactly_from_strings_and_decimals(value):
    text = f"{value // 100}.{value % 100:02d}"
    assert to_points(text) == to_points(Decimal(text)) == Decimal(value) / 100
    assert str(to_points(text)) == text


@given(st.integers(min_value=1, max_value=9))
def test_a_third_decimal_is_refused(last_digit):
    with pytest.raises(PointsOffGridError):
        to_points(f"1.00{last_digit}")


def stream():
    _, score = appraisal_round()
    return score.collect_events()


def test_an_untouched_stream_verifies():
    assert first_broken(stream()) is None


@given(st.data())
def test_changing_any_field_of_any_event_is_caught_at_that_event(data):
    events = stream()
    index = data.draw(st.integers(min_value=0, max_value=len(events) - 1))
    target = events[index]
    name = data.draw(st.sampled_from(["timestamp", "request_id", "actor", *[
        f.name for f in dataclasses.fields(target) if f.name in ("points", "note", "leaf", "max_points")]]))
    changed = {
        "timestamp": lambda v: v.replace(microsecond=(v.microsecond + 1) % 1_000_000),
        "request_id": lambda v: v + "x",
        "actor": lambda v: dataclasses.replace(v, id=v.id + "x"),
    }.get(name, lambda v: v + (Decimal("0.01") if isinstance(v, Decimal) else "x"))
    object.__setattr__(target, name, changed(getattr(target, name)))
    broken, _ = first_broken(events)
    assert broken is target


def test_a_removed_event_breaks_the_link_of_the_next():
    events = stream()
    del events[0]
    broken, why = first_broken(events)
    assert broken is events[0] and "does not link" in why
