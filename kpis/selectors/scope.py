"""Periods for the picker, and who sees whose figures."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from spm.models import FiscalPeriod, Tenant

# KPIs a leaderboard may rank: a rep sees every rep's place on these. Quota and
# quota-derived coverage are private to the rep, their managers and admins.
LEADERBOARD_KPIS = [
    "bookings",
    "attainment",
    "deals_won",
    "win_rate",
    "average_deal_size",
    "sales_cycle_length",
    "activities",
    "weighted_pipeline",
]
# The KPI table of dashboards when the tenant has not chosen its own.
DEFAULT_TABLE_KPIS = [
    "bookings",
    "quota",
    "attainment",
    "win_rate",
    "average_deal_size",
    "sales_cycle_length",
    "weighted_pipeline",
    "pipeline_coverage",
    "activities",
]


# Periods ---------------------------------------------------------------------------


def periods_for_picker(tenant: Tenant) -> list[FiscalPeriod]:
    """Every period of the tenant, year first, for the period picker (one query)."""
    return list(FiscalPeriod.objects.filter(tenant=tenant).order_by("start", "-end"))


def period_selected(
    tenant: Tenant,
    *,
    periods: list[FiscalPeriod],
    period_id: str | None,
    today: dt.date | None = None,
) -> FiscalPeriod | None:
    """The period asked for, else the quarter containing today (no query)."""
    if period_id and period_id.isdigit():
        for p in periods:
            if p.pk == int(period_id):
                return p
    day = today or timezone.localdate()
    for p in periods:
        if p.kind == "quarter" and p.start <= day <= p.end:
            return p
    return periods[-1] if periods else None
