"""The tenant task wrapper every pillar's tasks use (docs/architecture.md,
"Services, selectors, tasks")."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from celery.exceptions import Ignore
from django.utils import timezone

from spm.celery import app
from spm.db.locks import tenant_session_lock
from spm.models import FiscalPeriod, Tenant
from spm.outbox import outbox_relay
from spm.schedules import nightly_tenants
from spm.services import TRANSIENT_ERRORS, periods_ensure, task_retries_left
from spm.tenancy.context import tenant_context

# A tenant runs one heavy job (a full KPI recompute, a calculation run, the
# statistical forecast, an import) at a time, so one tenant's heavy work
# takes at most one worker process and its database backend, whatever it
# queues; a job that finds the tenant's slot taken comes back later.
HEAVY_SLOT = "spm.heavy_job"
HEAVY_WAIT_SECONDS = 5


def tenant_task(
    *, atomic: bool = True, heavy: bool = False, **task_options: Any
) -> Callable[..., Any]:
    """Declare a Celery task whose first argument is a tenant id.

    The wrapper loads the tenant and calls ``func(tenant, *args, **kwargs)``.
    With ``atomic=True`` the whole call runs in one transaction inside the
    tenant's context; with ``atomic=False`` the function opens
    ``tenant_context(tenant)`` itself for each unit of work (long jobs that
    report progress between units). Transient database and broker errors are
    retried with exponential backoff, five times at most; meanwhile the
    task's run (``spm.services.task_run``) shows queued, not failed.

    ``heavy=True``: the task holds the tenant's heavy-job slot while it runs
    (``HEAVY_SLOT``, a session advisory lock). When another heavy job of the
    tenant holds it, the task is queued again ``HEAVY_WAIT_SECONDS`` later as
    a new message (its retries for faults untouched) and this delivery is
    ignored; its run stays queued.
    """

    def decorator(func: Callable[..., Any]) -> Any:
        options = {
            "autoretry_for": TRANSIENT_ERRORS,
            "retry_backoff": True,
            "retry_backoff_max": 60,
            "max_retries": 5,
            "acks_late": True,
            "name": f"{func.__module__}.{func.__name__}",
            **task_options,
        }

        @app.task(bind=True, **options)
        @functools.wraps(func)
        def run(self: Any, tenant_id: int, *args: Any, **kwargs: Any) -> Any:
            tenant = Tenant.objects.get(pk=tenant_id)
            with ExitStack() as slot:
                if heavy and not slot.enter_context(tenant_session_lock(tenant.pk, HEAVY_SLOT)):
                    self.apply_async((tenant_id, *args), kwargs, countdown=HEAVY_WAIT_SECONDS)
                    raise Ignore()
                with task_retries_left(self.max_retries - self.request.retries):
                    if not atomic:
                        return func(tenant, *args, **kwargs)
                    with tenant_context(tenant):
                        return func(tenant, *args, **kwargs)

        return run

    return decorator


@tenant_task()
def periods_ensure_for_tenant(tenant: Tenant) -> int:
    """Make sure the tenant's fiscal periods reach two years past today.

    Returns the number of periods the tenant has afterwards. Idempotent.
    """
    periods_ensure(tenant, around=timezone.localdate(), years=(0, 2))
    return FiscalPeriod.objects.filter(tenant=tenant).count()


@app.task(name="spm.tasks.periods_roll_forward")
def periods_roll_forward() -> int:
    """Beat entry point (hourly tick, nightly per tenant): enqueue one period
    check per tenant whose night it is (``spm.schedules.nightly_tenants``)."""
    tenant_ids = nightly_tenants("spm.periods_roll_forward")
    for tenant_id in tenant_ids:
        periods_ensure_for_tenant.delay(tenant_id)
    return len(tenant_ids)


@app.task(name="spm.tasks.outbox_relay_task", ignore_result=True)
def outbox_relay_task() -> int:
    """Beat entry point (every few seconds): send the tasks the outbox kept
    while the broker was down; returns how many were sent. Two relays at once
    share the work (rows are claimed with SKIP LOCKED)."""
    return outbox_relay()
