"""Forecast accuracy (docs/formulas.md section 7): how close a forecast came
to the actual bookings of a past period, and which way it missed."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from spm.money import round_half_up

RATIO_PLACES = Decimal("0.0001")


def forecast_accuracy(forecast: Decimal, actual: Decimal) -> Decimal | None:
    """1 - |forecast - actual| / actual, to four places (None without bookings:
    nothing to judge against). Below zero when the miss exceeds the actual."""
    if actual <= 0:
        return None
    return round_half_up(1 - abs(Fraction(forecast - actual)) / Fraction(actual), RATIO_PLACES)


def forecast_bias(forecast: Decimal, actual: Decimal) -> Decimal | None:
    """(forecast - actual) / actual to four places: above zero called too high."""
    if actual <= 0:
        return None
    return round_half_up(Fraction(forecast - actual) / Fraction(actual), RATIO_PLACES)
