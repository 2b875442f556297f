"""Fiscal calendar arithmetic: pure functions, no database.

A fiscal year is named after the calendar year in which it ends: with a
February start, FY2027 runs 2026-02-01 to 2027-01-31. Periods include both
ends.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


KIND_LABELS = (("month", "Month"), ("quarter", "Quarter"), ("year", "Year"))


@dataclass(frozen=True)
class PeriodPicker:
    """What the period picker shows for a selected period: the kinds (each
    linking to the period of that kind holding the selected one's start), the
    selected kind's periods of the same fiscal year (every year for years), the
    previous and next period of the kind, and the one holding today."""

    selected: Any
    kinds: list[tuple[str, str, Any]]
    choices: list[Any]
    previous: Any
    next: Any
    current: Any


def period_picker(periods: Sequence[Any], selected: Any, *, today: dt.date) -> PeriodPicker:
    """Pure: ``periods`` are the tenant's FiscalPeriods (or alike), in any order."""
    ordered = sorted(periods, key=lambda p: (p.start, p.end))
    same_kind = [p for p in ordered if p.kind == selected.kind]

    def holding(kind: str, day: dt.date) -> Any:
        return next((p for p in ordered if p.kind == kind and p.start <= day <= p.end), None)

    index = same_kind.index(selected)
    return PeriodPicker(
        selected=selected,
        kinds=[(kind, label, holding(kind, selected.start)) for kind, label in KIND_LABELS],
        choices=same_kind
        if selected.kind == "year"
        else [p for p in same_kind if p.fiscal_year == selected.fiscal_year],
        previous=same_kind[index - 1] if index > 0 else None,
        next=same_kind[index + 1] if index + 1 < len(same_kind) else None,
        current=holding(selected.kind, today),
    )
