"""Money and rates: Decimal end to end (DESIGN.md, Time and money).

Money is NUMERIC(18,2) (``DecimalField(**MONEY_KWARGS)``), rates NUMERIC(9,6)
(``RATE_KWARGS``). Amounts round half-up to cents once, at statement-line level
(FORMULAS.md conventions), with ``to_cents``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

CENT: Final = Decimal("0.01")
MONEY_KWARGS: Final[dict[str, Any]] = {"max_digits": 18, "decimal_places": 2}
RATE_KWARGS: Final[dict[str, Any]] = {"max_digits": 9, "decimal_places": 6}


# The largest amount a NUMERIC(18,2) column holds, and the first one it does not.
MONEY_MAX: Final = Decimal("9999999999999999.99")
MONEY_LIMIT: Final = Decimal("1e16")


def to_cents(value: Decimal) -> Decimal:
    """Round half-up to cents (the one rounding rule for money)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
