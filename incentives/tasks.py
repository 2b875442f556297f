"""Celery tasks of the incentives pillar: thin wrappers around its services."""

from __future__ import annotations

from incentives import services
from spm.celery import app
from spm.models import Tenant
from spm.schedules import hourly_claim, nightly_tenants
from spm.tasks import tenant_task


@tenant_task(atomic=False, heavy=True)
def calc_run_execute_task(tenant: Tenant, run_id: int) -> int:
    """Compute the preview run ``run_id``; returns the lines written (0 when
    its output equals the latest preview's). Safe to run twice."""
    return services.calc_run_execute(tenant, run_id=run_id).lines_written


@tenant_task(atomic=False)
def calc_run_previews_refresh(tenant: Tenant) -> int:
    """Run again every open period that has a current preview (nightly);
    returns the number of runs queued."""
    return len(services.calc_run_previews_refresh(tenant))


@app.task(name="incentives.tasks.calc_run_previews_nightly")
def calc_run_previews_nightly() -> int:
    """Beat entry point (hourly tick): one preview refresh per tenant and night
    (``spm.schedules.nightly_tenants``: a duplicate tick is a logged no-op)."""
    tenant_ids = nightly_tenants("incentives.previews_nightly")
    for tenant_id in tenant_ids:
        calc_run_previews_refresh.delay(tenant_id)
    return len(tenant_ids)


@tenant_task()
def notifications_email_task(tenant: Tenant, notification_ids: list[int]) -> int:
    """Email the notifications ``notification_ids`` their recipients receive by
    email; returns the number sent. Safe to run twice (sent ones are marked)."""
    return services.notifications_email(tenant, notification_ids=notification_ids)


@tenant_task()
def acknowledgements_auto_accept(tenant: Tenant) -> int:
    """Accept the tenant's statements whose dispute window closed unanswered."""
    return services.acknowledgements_auto_accept(tenant)


@app.task(name="incentives.tasks.acknowledgements_auto_accept_all")
def acknowledgements_auto_accept_all() -> int:
    """Beat entry point (hourly): one auto-accept pass per tenant, once per
    hour however many beats send it (``spm.schedules.hourly_claim``)."""
    if not hourly_claim("incentives.auto_accept"):
        return 0
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        acknowledgements_auto_accept.delay(tenant_id)
    return len(tenant_ids)
