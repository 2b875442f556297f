"""Money, rates and the one rounding rule (docs/architecture.md, "Money").

Every decimal column, serializer field and form field takes its size from
here, so no app spells out ``max_digits``:

- ``MONEY_KWARGS``: money, ``NUMERIC(18,2)``;
- ``RATE_KWARGS``: rates and fractions (exchange rates, weights and scores
  where 0.4 is 40 %), ``NUMERIC(9,6)``;
- ``PERCENT_KWARGS``: percentages people type (a probability, a split share:
  60 for 60 %), ``NUMERIC(5,2)``;
- ``PERCENT_INPUT_KWARGS``: a rate typed as a percent with four places
  (40.5 for 0.405), what a form shows for a ``RATE_KWARGS`` column;
- ``QUANTITY_KWARGS``: a measured value of any unit (money, a count, days:
  goal targets and check-ins, KPI thresholds typed in), ``NUMERIC(18,4)``;
- ``WEIGHT_KWARGS``: relative weights (prior bookings, seasonality), which may
  be as large as money and as fine as a rate, ``NUMERIC(24,6)``;
- ``FIGURE_KWARGS``: a computed figure of any unit (a KPI value, a ratio kept
  at ten places), ``NUMERIC(28,10)``.

``round_half_up`` is the only rounding of the code base: amounts round
half-up to cents once, where docs/formulas.md says (a credit, a prorated
quota, a statement line), and sums are sums of rounded parts.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Final

CENT: Final = Decimal("0.01")
MONEY_KWARGS: Final[dict[str, Any]] = {"max_digits": 18, "decimal_places": 2}
RATE_KWARGS: Final[dict[str, Any]] = {"max_digits": 9, "decimal_places": 6}
PERCENT_KWARGS: Final[dict[str, Any]] = {"max_digits": 5, "decimal_places": 2}
PERCENT_INPUT_KWARGS: Final[dict[str, Any]] = {"max_digits": 9, "decimal_places": 4}
QUANTITY_KWARGS: Final[dict[str, Any]] = {"max_digits": 18, "decimal_places": 4}
WEIGHT_KWARGS: Final[dict[str, Any]] = {"max_digits": 24, "decimal_places": 6}
FIGURE_KWARGS: Final[dict[str, Any]] = {"max_digits": 28, "decimal_places": 10}


# The largest amount a NUMERIC(18,2) column holds, and the first one it does not.
MONEY_MAX: Final = Decimal("9999999999999999.99")
MONEY_LIMIT: Final = Decimal("1e16")


def round_half_up(value: Decimal | Fraction | int, places: Decimal = CENT) -> Decimal:
    """``value`` rounded to ``places`` (cents unless told), halves away from
    zero: 0.005 -> 0.01, -0.005 -> -0.01, Fraction(1, 3) -> 0.33. A Fraction
    is rounded exactly, with no intermediate Decimal."""
    if isinstance(value, Fraction):
        scaled = abs(value) / Fraction(places)
        whole = math.floor(scaled)
        if scaled - whole >= Fraction(1, 2):
            whole += 1
        return (Decimal(whole if value >= 0 else -whole) * places).quantize(places)
    return Decimal(value).quantize(places, rounding=ROUND_HALF_UP)
