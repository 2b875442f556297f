"""The frames the engine reads and writes, and the formatting of its arithmetic.

Money inside the engine is exact: ``Decimal`` objects in pandas object
columns for products (amount x rate), ``int64`` cents where a running sum is
needed (pandas has no cumulative sum of objects). Each statement line is
rounded half-up to cents once, with ``spm.money.round_half_up``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import numpy as np
import pandas as pd

from spm.money import round_half_up

ZERO: Final = Decimal("0.00")
INFINITY: Final = Decimal("Infinity")
HUNDRED: Final = Decimal("100")

# One row per statement line. ``line_key`` is the line's identity across runs
# (component, window, kind, credit identity, band): a period pays the difference
# between the lines to date and what was paid on the same keys before.
LINE_COLUMNS: Final = [
    "member_id",
    "component",
    "kind",
    "window",
    "deal_id",
    "credit_id",
    "credit_date",
    "credit_amount",
    "band",
    "base",
    "rate",
    "amount",
    "explanation",
    "line_key",
]

CREDIT_COLUMNS: Final = [
    "credit_id",
    "deal_id",
    "deal_name",
    "member_id",
    "role",
    "amount",
    "credit_date",
    "deal_type",
    "product_line",
]


@dataclass(frozen=True)
class Window:
    """A period the engine measures or pays (a fiscal month, quarter or year)."""

    kind: str
    start: dt.date
    end: dt.date
    label: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.start.isoformat()}"


def credit_identity(deal_id: pd.Series, role: pd.Series) -> pd.Series:
    """A credit's identity across runs: its deal and role (``"41:split"``).

    Credit rows are replaced when a deal is re-opened and won again or a
    cancelled deal is reinstated; the identity stays, so lines keyed on it
    (line keys, reclaims) see the same credit (docs/formulas.md,
    "Reinstated credits")."""
    return deal_id.astype("int64").astype(str) + ":" + role.astype(str)


def line_identity(line_key: pd.Series) -> pd.Series:
    """The credit identity inside a line key (``-`` for a line without a deal)."""
    return line_key.astype(str).str.split("|").str[3]


def credits_held(credits: pd.DataFrame) -> pd.Series:
    """``member/deal:role`` of each credit: who holds which credit."""
    return (
        credits["member_id"].astype(str)
        + "/"
        + credit_identity(credits["deal_id"], credits["role"])
    )


def lines_held(lines: pd.DataFrame) -> pd.Series:
    """``member/deal:role`` of each line (``member/-`` without a deal)."""
    return lines["member_id"].astype(str) + "/" + line_identity(lines["line_key"])


def empty_lines() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in LINE_COLUMNS})


def round_cents(values: pd.Series) -> pd.Series:
    """Half-up to cents, element by element (the one rounding rule)."""
    return values.map(round_half_up).astype(object)


def money(value: Decimal) -> str:
    """``50000`` -> ``50,000.00``."""
    return f"{value:,.2f}"


def number(value: Decimal) -> str:
    """A rate, percentage or factor without trailing zeros: ``8``, ``12.5``, ``0.805``."""
    return format(value.normalize(), "f")


def band_label(lower: Decimal, upper: Decimal | None, on: str) -> str:
    if on == "attainment":
        return f"{number(lower)}%+" if upper is None else f"{number(lower)}-{number(upper)}%"
    return f"{money(lower)}+" if upper is None else f"{money(lower)}-{money(upper)}"


# Exact integer arithmetic on arrays (docs/formulas.md, "Exact arithmetic"):
# a figure with ``places`` decimals travels as the integer figure x 10^places,
# in numpy ``object`` arrays of Python ints, which never overflow and never
# pass through a float; products and the one half-up division per line are
# numpy operations over the whole array, not a Python loop.


def places_of(values: Sequence[Decimal]) -> int:
    """The decimals needed to write every finite value of ``values`` exactly."""
    exponents = [int(v.as_tuple().exponent) for v in values if v.is_finite()]
    return max(0, *(-e for e in exponents))


def _scaled_int(value: Decimal | int, places: int) -> int:
    scaled = Decimal(value).scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {places} decimals")
    return int(scaled)


_SCALED_INT = np.frompyfunc(_scaled_int, 2, 1)
_DECIMAL = np.frompyfunc(lambda value, places: Decimal(int(value)).scaleb(-places), 2, 1)


def to_ints(values: Sequence[Decimal | int] | np.ndarray, places: int) -> np.ndarray:
    """``values`` x 10^places as exact Python ints (``ValueError`` if one is
    not a whole number at that scale)."""
    array = np.asarray(values, dtype=object)
    return np.asarray(_SCALED_INT(array, places), dtype=object) if len(array) else array


def div_half_up(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """``numerator / denominator`` rounded half away from zero, exactly
    (``spm.money.round_half_up``), element by element as numpy object ops."""
    magnitude = (2 * np.abs(numerator) + denominator) // (2 * denominator)
    return np.where(numerator < 0, -magnitude, magnitude)


def decimals(ints: np.ndarray, places: int) -> np.ndarray:
    """Exact ints x 10^-places as ``Decimal`` with ``places`` decimals."""
    array = np.asarray(ints, dtype=object)
    return np.asarray(_DECIMAL(array, places), dtype=object) if len(array) else array
