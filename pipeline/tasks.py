"""Celery tasks of the pipeline pillar: thin wrappers around the services."""

from __future__ import annotations

from pipeline import importing
from pipeline.forecast import runs
from spm.celery import app
from spm.models import Tenant
from spm.tasks import tenant_task


@tenant_task(atomic=False, heavy=True, name=importing.IMPORT_RUN_TASK)
def import_run(tenant: Tenant, batch_id: int) -> None:
    """Import an uploaded CSV batch (``pipeline.importing.import_batch_run``).

    Runs outside one big transaction so its progress is visible while it runs;
    safe to run twice (the upsert by external id is idempotent)."""
    importing.import_batch_run(tenant, batch_id=batch_id)


@tenant_task(atomic=False, heavy=True, name=runs.STAT_TASK)
def stat_forecast_task(tenant: Tenant, period_id: int | None = None) -> int:
    """The statistical forecast of a period (default: the current quarter) as
    of today. Idempotent: a second run writes the same rows."""
    return runs.stat_forecast_run(tenant, period_id=period_id)


@tenant_task(atomic=False, name=runs.REFRESH_TASK)
def stat_forecast_refresh_task(tenant: Tenant, deal_ids: list[int]) -> int:
    """The statistical forecast after deals changed (from the stored fit)."""
    return runs.stat_forecast_refresh_run(tenant, deal_ids=deal_ids)


@tenant_task(atomic=False)
def forecast_snapshot_task(tenant: Tenant) -> int:
    """This week's forecast snapshot of the current quarter."""
    return runs.forecast_snapshot_run(tenant)


@app.task(name="pipeline.tasks.stat_forecast_nightly")
def stat_forecast_nightly() -> int:
    """Beat entry point (nightly): the statistical forecast of every tenant."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        stat_forecast_task.delay(tenant_id)
    return len(tenant_ids)


@app.task(name="pipeline.tasks.forecast_snapshots_weekly")
def forecast_snapshots_weekly() -> int:
    """Beat entry point (weekly): every tenant's forecast snapshot."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        forecast_snapshot_task.delay(tenant_id)
    return len(tenant_ids)
