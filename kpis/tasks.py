"""Celery tasks of the KPI pillar: thin wrappers around ``kpis.services``.

- ``kpis_recompute_dirty(tenant_id)``: the on-change path (enqueued after
  commit, debounced) and the every-few-minutes schedule;
- ``kpis_recompute_tenant(tenant_id, run_id=None)``: a full recompute with
  progress (nightly schedule, the runs page's button, the command);
- ``kpis_nightly`` / ``kpis_incremental``: beat entry points fanning out per tenant.

Each is idempotent (the engine upserts and deletes what it did not write), takes
per-period advisory locks, and retries database and broker faults (``tenant_task``).
"""

from __future__ import annotations

from kpis import services
from spm.celery import app
from spm.models import Tenant
from spm.schedules import nightly_tenants
from spm.tasks import tenant_task


@tenant_task(atomic=False, name=services.DIRTY_TASK)
def kpis_recompute_dirty(tenant: Tenant) -> int:
    """Recompute the tenant's dirty periods; returns the rows written (0 if none)."""
    run = services.kpi_recompute_dirty(tenant)
    return run.rows if run else 0


@tenant_task(atomic=False, heavy=True, name=services.FULL_TASK)
def kpis_recompute_tenant(tenant: Tenant, run_id: int | None = None) -> int:
    """Recompute every period of the tenant, recording progress on ``run_id``."""
    return services.kpi_recompute_full(tenant, run_id=run_id).rows


@app.task(name="kpis.tasks.kpis_nightly")
def kpis_nightly() -> int:
    """Beat entry point (hourly tick): one full recompute per tenant and night
    (``spm.schedules.nightly_tenants``: a duplicate tick is a logged no-op)."""
    tenant_ids = nightly_tenants("kpis.nightly")
    for tenant_id in tenant_ids:
        kpis_recompute_tenant.delay(tenant_id)
    return len(tenant_ids)


@app.task(name="kpis.tasks.kpis_incremental")
def kpis_incremental() -> int:
    """Beat entry point (every few minutes): recompute each tenant's dirty periods
    (changes the on-change path missed: bulk writes, a broker outage)."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        kpis_recompute_dirty.delay(tenant_id)
    return len(tenant_ids)
