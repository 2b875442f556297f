"""round_half_up: the one rounding rule, for Decimals and exact Fractions."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from spm.money import round_half_up


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Decimal("0.005"), Decimal("0.01"), Decimal("0.01")),
        (Decimal("0.0049"), Decimal("0.01"), Decimal("0.00")),
        (Decimal("-0.005"), Decimal("0.01"), Decimal("-0.01")),
        (Decimal("2.5"), Decimal("1"), Decimal("3")),
        (Decimal("55.555"), Decimal("0.01"), Decimal("55.56")),
        (Fraction(100000, 3), Decimal("0.01"), Decimal("33333.33")),
        (Fraction(1, 200), Decimal("0.01"), Decimal("0.01")),
        (Fraction(-1, 200), Decimal("0.01"), Decimal("-0.01")),
        (Fraction(90000 * 50, 90), Decimal("0.01"), Decimal("50000.00")),
        (Fraction(2, 3), Decimal("0.0001"), Decimal("0.6667")),
        (7, Decimal("0.01"), Decimal("7.00")),
    ],
)
def test_rounds_halves_away_from_zero_at_the_places_asked(value, places, expected):
    result = round_half_up(value, places)

    assert result == expected
    assert result.as_tuple().exponent == expected.as_tuple().exponent


def test_cents_unless_told():
    assert str(round_half_up(Decimal("10850.004"))) == "10850.00"
    assert str(round_half_up(Fraction(2171, 200))) == "10.86"
