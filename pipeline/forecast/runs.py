"""The forecasting jobs the workers run: the statistical forecast (nightly,
and after a deal changes) and the weekly snapshot. Each runs under a TaskRun
and holds the (tenant, period) advisory lock, so two never run at once; a
run that finds the lock taken records that it skipped (the holder's result
stands, the next change or night runs again)."""

from __future__ import annotations

import datetime as dt
from typing import Final

from django.db import transaction

from pipeline.forecast.snapshots import forecast_snapshot_take
from pipeline.forecast.stats import stat_forecast_compute, stat_forecast_refresh
from pipeline.services import tenant_today
from spm.db.locks import try_advisory_xact_lock
from spm.models import FiscalPeriod, Tenant
from spm.selectors import period_containing
from spm.services import task_run
from spm.tenancy.context import tenant_context

STAT_TASK: Final = "pipeline.tasks.stat_forecast_task"
REFRESH_TASK: Final = "pipeline.tasks.stat_forecast_refresh_task"
RUN_STAT = "forecast.statistical"
RUN_REFRESH = "forecast.refresh"
RUN_SNAPSHOT = "forecast.snapshot"


def _lock_name(period_id: int) -> str:
    return f"forecast.period.{period_id}"


def current_quarter(tenant: Tenant) -> FiscalPeriod | None:
    """The quarter containing the tenant's today."""
    return period_containing(tenant, day=tenant_today(tenant), kind="quarter")


def stat_forecast_run(tenant: Tenant, *, period_id: int | None = None) -> int:
    """Compute the statistical forecast of ``period_id`` (default: the current
    quarter) as of today; returns the subject rows written (0: skipped)."""
    with task_run(tenant, kind=RUN_STAT, label="Statistical forecast") as run:
        with tenant_context(tenant), transaction.atomic():
            period = _period(tenant, period_id)
            if period is None or not try_advisory_xact_lock(tenant.pk, _lock_name(period.pk)):
                run.outcome(ok=True, message="Skipped: no current quarter, or a run holds it.")
                return 0
            result = stat_forecast_compute(tenant, period=period, day=tenant_today(tenant))
        run.outcome(
            ok=True,
            rows=result.subjects,
            message=f"{period.label} as of {result.as_of}: {result.deals} open deals scored.",
            result={"deals": result.deals, "observations": result.observations},
        )
        return result.subjects


def stat_forecast_refresh_run(tenant: Tenant, *, deal_ids: list[int]) -> int:
    """Score the changed deals again in the current quarter and update every
    subject's forecast from the stored fit; returns the subject rows written
    (0: no fit yet, or a run holds the period)."""
    with task_run(tenant, kind=RUN_REFRESH, label="Forecast after a change") as run:
        with tenant_context(tenant), transaction.atomic():
            period = current_quarter(tenant)
            if period is None or not try_advisory_xact_lock(tenant.pk, _lock_name(period.pk)):
                run.outcome(ok=True, message="Skipped: a run holds the period.")
                return 0
            result = stat_forecast_refresh(tenant, period=period, deal_ids=deal_ids)
        rows = result.subjects if result else 0
        run.outcome(ok=True, rows=rows, message=f"{len(deal_ids)} changed deals scored again.")
        return rows


def forecast_snapshot_run(tenant: Tenant, *, day: dt.date | None = None) -> int:
    """Take this week's snapshot of the current quarter; returns the rows."""
    with task_run(tenant, kind=RUN_SNAPSHOT, label="Weekly forecast snapshot") as run:
        with tenant_context(tenant), transaction.atomic():
            period = current_quarter(tenant)
            if period is None or not try_advisory_xact_lock(tenant.pk, _lock_name(period.pk)):
                run.outcome(ok=True, message="Skipped: no current quarter, or a run holds it.")
                return 0
            rows = forecast_snapshot_take(tenant, period=period, day=day or tenant_today(tenant))
        run.outcome(ok=True, rows=rows, message=f"{period.label}: {rows} deals.")
        return rows


def _period(tenant: Tenant, period_id: int | None) -> FiscalPeriod | None:
    if period_id is None:
        return current_quarter(tenant)
    return FiscalPeriod.objects.filter(tenant=tenant, pk=period_id).first()
