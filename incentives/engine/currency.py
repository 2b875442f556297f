"""Payout currencies: statement lines from the tenant's currency to the member's.

The engine computes every line in the tenant's currency (credits, quotas and
plan amounts are in it). Each line is then paid in the member's payout
currency at the exchange-rate table's rate of one month: the close month of
the line's deal (its credit date), or, for a line without a deal (bonus,
team, cap, draw, adjustment), the payout period's last month. The line keeps
that rate; ``amount = base_amount / rate`` rounded half-up to cents
(docs/formulas.md, "Currencies"). Set-based: one merge per frame.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

import pandas as pd

from incentives.engine.frames import LINE_COLUMNS, empty_lines, money, number, round_cents

ONE: Final = Decimal("1")
# A rate adjustment's line key: the key of the line it adjusts, this, and
# the rate month (``...|fx:2027-01-01``).
FX_MARK: Final = "|fx:"

# (currency, first day of the month) -> units of tenant currency per unit.
Rates = Mapping[tuple[str, dt.date], Decimal]


class MissingRateError(ValueError):
    """A payout currency without a rate for a month a line needs."""

    def __init__(self, currency: str, month: dt.date) -> None:
        self.currency, self.month = currency, month
        super().__init__(
            f"No exchange rate for {currency} in {month:%B %Y}: add it to the exchange-rate "
            "table (a member is paid in it)."
        )


def _rate_month(lines: pd.DataFrame, period_end: dt.date) -> pd.Series:
    fallback = period_end.replace(day=1)
    return lines["credit_date"].map(lambda d: fallback if d is None or d != d else d.replace(day=1))


def posted_rate_months(posted: pd.DataFrame) -> pd.Series:
    """The rate month of published lines (``line_key``, ``credit_date`` and
    ``period_end``, the end of the period they were paid in): a rate
    adjustment's is in its key."""
    fallback = posted["period_end"].map(lambda d: d.replace(day=1))
    month = posted["credit_date"].map(lambda d: None if d is None or d != d else d.replace(day=1))
    month = month.where(month.notna(), fallback)
    marked = posted["line_key"].astype(str).str.partition(FX_MARK)[2]
    return month.where(marked == "", marked.map(lambda m: dt.date.fromisoformat(m) if m else None))


def _rates_for(
    currency: pd.Series, month: pd.Series, *, rates: Rates, tenant_currency: str
) -> pd.Series:
    out = []
    for code, first in zip(currency, month, strict=True):  # per line: a dict lookup
        if code == tenant_currency:
            out.append(ONE)
            continue
        rate = rates.get((code, first))
        if rate is None:
            raise MissingRateError(code, first)
        out.append(rate)
    return pd.Series(out, index=currency.index, dtype=object)


def lines_convert(
    lines: pd.DataFrame,
    *,
    currency_of: Mapping[int, str],
    rates: Rates,
    tenant_currency: str,
    period_end: dt.date,
) -> pd.DataFrame:
    """``lines`` (``LINE_COLUMNS``, ``amount`` in the tenant's currency) with
    ``base_amount`` (that amount), ``fx_rate`` and ``amount`` in the payout
    currency of each line's member (``currency_of``). Raises
    ``MissingRateError`` when the table lacks a rate a line needs."""
    out = lines.copy()
    out["base_amount"] = out["amount"]
    if out.empty:
        out["fx_rate"] = pd.Series(dtype=object)
        return out
    currency = out["member_id"].map(lambda m: currency_of.get(int(m), tenant_currency))
    out["fx_rate"] = _rates_for(
        currency, _rate_month(out, period_end), rates=rates, tenant_currency=tenant_currency
    )
    foreign = out["fx_rate"] != ONE
    if foreign.any():
        converted = round_cents(out.loc[foreign, "base_amount"] / out.loc[foreign, "fx_rate"])
        out.loc[foreign, "amount"] = converted
        out.loc[foreign, "explanation"] = (
            out.loc[foreign, "explanation"].astype(str)
            + "; "
            + out.loc[foreign, "base_amount"].map(money)
            + f" {tenant_currency} / "
            + out.loc[foreign, "fx_rate"].map(number)
            + " = "
            + converted.map(money)
            + " "
            + currency[foreign]
        )
    return out


def rate_change_lines(
    paid: pd.DataFrame,
    *,
    rates: Rates,
    tenant_currency: str,
) -> pd.DataFrame:
    """Adjustments for rates changed after lines were published (only when the
    plan says ``exchange_rate_changes: adjust``).

    ``paid`` holds the published lines of the plan year in another currency
    than the tenant's: ``member_id``, ``line_key``, ``window``, ``credit_date``,
    ``deal_id``, ``currency``, ``rate_month``, ``base_amount``, ``amount``
    (earlier rate adjustments included, with a base of 0). Per line key and
    rate month, the line is owed ``sum(base / rate now)`` rounded per line,
    less what was paid; a difference becomes one ``fx`` line, so a rerun at
    the same rates posts nothing."""
    if paid.empty:
        return empty_lines().assign(base_amount=None, fx_rate=None)
    frame = paid.copy()
    frame["fx_rate"] = _rates_for(
        frame["currency"], frame["rate_month"], rates=rates, tenant_currency=tenant_currency
    )
    frame["owed"] = round_cents(frame["base_amount"] / frame["fx_rate"])
    frame["line_key"] = frame["line_key"].astype(str).str.partition(FX_MARK)[0]
    groups = frame.groupby(["member_id", "line_key", "rate_month"], as_index=False, sort=True).agg(
        owed=("owed", "sum"),
        paid=("amount", "sum"),
        base=("base_amount", "sum"),
        fx_rate=("fx_rate", "first"),
        currency=("currency", "first"),
        window=("window", "first"),
        deal_id=("deal_id", "first"),
        credit_date=("credit_date", "first"),
    )
    groups["amount"] = (groups["owed"] - groups["paid"]).astype(object)
    lines = groups[groups["amount"] != 0].copy()
    if lines.empty:
        return empty_lines().assign(base_amount=None, fx_rate=None)
    lines["component"] = "fx"
    lines["kind"] = "fx"
    lines["credit_id"] = None
    lines["credit_amount"] = None
    lines["band"] = None
    lines["rate"] = lines["fx_rate"]
    lines["base_amount"] = Decimal("0.00")
    lines["explanation"] = (
        "exchange rate changed for "
        + lines["rate_month"].map(lambda d: f"{d:%B %Y}")
        + ": "
        + lines["base"].map(money)
        + f" {tenant_currency} / "
        + lines["fx_rate"].map(number)
        + " = "
        + lines["owed"].map(money)
        + " "
        + lines["currency"]
        + ", "
        + lines["paid"].map(money)
        + " paid"
    )
    lines["line_key"] = lines["line_key"] + FX_MARK + lines["rate_month"].map(dt.date.isoformat)
    return lines[[*LINE_COLUMNS, "base_amount", "fx_rate"]].reset_index(drop=True)
