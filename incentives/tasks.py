"""Celery tasks of the incentives pillar: thin wrappers around its services."""

from __future__ import annotations

from incentives import services
from spm.models import Tenant
from spm.tasks import tenant_task


@tenant_task(atomic=False)
def calc_run_execute_task(tenant: Tenant, run_id: int) -> int:
    """Compute the preview run ``run_id``; returns the lines written (0 when
    its output equals the latest preview's). Safe to run twice."""
    return services.calc_run_execute(tenant, run_id=run_id).lines_written
