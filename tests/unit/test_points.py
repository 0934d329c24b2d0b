"""Points as text: exactly the documented pattern in ASCII, kept as Decimal; anything else is a named refusal."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidPointsError, PointsOffGridError, PointsOutOfRangeError
from domain.values import POINTS_PATTERN, to_points

ASCII_POINTS = re.compile(POINTS_PATTERN, re.ASCII)
DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹０１２３４５６７８９²"


@given(st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,2})?\Z"))
def test_every_text_of_the_pattern_is_kept_exactly(text):
    points = to_points(text)
    assert isinstance(points, Decimal) and points == Decimal(text) and points.as_tuple().exponent == -2


NEAR_MISSES = st.from_regex(r"[-+ ]?[0-9]{0,5}\.?[0-9]{0,4}\s?")


@given(st.one_of(st.text(), st.text(alphabet=DIGITS + ".-+eE_ \n,"), NEAR_MISSES))
def test_any_other_text_is_a_named_refusal_never_a_crash(text):
    if ASCII_POINTS.fullmatch(text):
        assert to_points(text) == Decimal(text)
    else:
        with pytest.raises(InvalidPointsError):
            to_points(text)


@pytest.mark.parametrize(("text", "error"), [
    ("-0", PointsOutOfRangeError), ("-0.01", PointsOutOfRangeError), ("1000", PointsOutOfRangeError),
    ("0.001", PointsOffGridError), ("1.000", PointsOffGridError), ("1E-2", InvalidPointsError),
    ("+0.30", InvalidPointsError), (" 0.30", InvalidPointsError), ("0.30\n", InvalidPointsError),
    ("٠.٣٠", InvalidPointsError), ("０.３０", InvalidPointsError), ("0_3", InvalidPointsError),
    ("1" * 400, InvalidPointsError), ("NaN", InvalidPointsError),
])
def test_each_kind_of_bad_text_gets_its_error(text, error):
    with pytest.raises(error):
        to_points(text)


def test_a_long_text_is_not_echoed_in_the_refusal():
    with pytest.raises(InvalidPointsError) as refused:
        to_points("9" * 400)
    assert "9" * 40 not in str(refused.value)


def test_numbers_from_code_keep_their_rules_and_negative_zero_becomes_zero():
    assert str(to_points(Decimal("-0"))) == "0.00" and str(to_points(Decimal("-0.00"))) == "0.00"
    assert to_points(7) == Decimal("7.00") and to_points(Decimal("0.5")) == Decimal("0.50")
    for bad, error in [(-1, PointsOutOfRangeError), (1000, PointsOutOfRangeError), (10**400, PointsOutOfRangeError),
                       (Decimal("-0.01"), PointsOutOfRangeError), (Decimal("1E+3"), PointsOutOfRangeError),
                       (Decimal("0.005"), PointsOffGridError), (Decimal("sNaN"), InvalidPointsError),
                       (Decimal("Infinity"), InvalidPointsError), (0.5, InvalidPointsError),
                       (True, InvalidPointsError)]:
        with pytest.raises(error):
            to_points(bad)
