"""Fiscal calendar arithmetic: pure functions, no database.

A fiscal year is named after the calendar year in which it ends: with a
February start, FY2027 runs 2026-02-01 to 2027-01-31. Periods include both
ends.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

MONTH_ABBR = calendar.month_abbr


@dataclass(frozen=True)
class PeriodSpec:
    kind: str
    fiscal_year: int
    number: int
    start: dt.date
    end: dt.date
    label: str


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def fiscal_year_of(day: dt.date, start_month: int) -> int:
    """The fiscal year (named by its end year) that contains ``day``."""
    if start_month == 1:
        return day.year
    return day.year + 1 if day.month >= start_month else day.year


def fiscal_year_start(fiscal_year: int, start_month: int) -> dt.date:
    return dt.date(fiscal_year if start_month == 1 else fiscal_year - 1, start_month, 1)


def fiscal_year_periods(fiscal_year: int, start_month: int) -> list[PeriodSpec]:
    """The year, its four quarters and its twelve months."""
    first = fiscal_year_start(fiscal_year, start_month)
    specs = [
        PeriodSpec(
            "year",
            fiscal_year,
            1,
            first,
            _add_months(first, 12) - dt.timedelta(days=1),
            f"FY{fiscal_year}",
        )
    ]
    for q in range(4):
        start = _add_months(first, 3 * q)
        end = _add_months(start, 3) - dt.timedelta(days=1)
        specs.append(
            PeriodSpec("quarter", fiscal_year, q + 1, start, end, f"FY{fiscal_year} Q{q + 1}")
        )
    for m in range(12):
        start = _add_months(first, m)
        end = _add_months(start, 1) - dt.timedelta(days=1)
        specs.append(
            PeriodSpec(
                "month", fiscal_year, m + 1, start, end, f"{MONTH_ABBR[start.month]} {start.year}"
            )
        )
    return specs


def active_days(
    period_start: dt.date, period_end: dt.date, member_start: dt.date, member_end: dt.date | None
) -> int:
    """Days of the period a member was active, both ends inclusive (docs/formulas.md section 1)."""
    start = max(period_start, member_start)
    end = period_end if member_end is None else min(period_end, member_end)
    return max(0, (end - start).days + 1)
