"""Celery tasks of the integration platform: thin wrappers around its services."""

from __future__ import annotations

from integrations import exports
from integrations.webhooks import services as webhooks
from spm.celery import app
from spm.models import Tenant
from spm.schedules import hourly_claim
from spm.tasks import tenant_task


@tenant_task(atomic=False, name=webhooks.ATTEMPT_TASK)
def webhook_attempt_task(tenant: Tenant, delivery_id: int, number: int, trigger: str) -> int | None:
    """Make attempt ``number`` of delivery ``delivery_id``; returns the HTTP
    status received (None: no answer, or the attempt was already made). Safe
    to run twice: an attempt number is sent once."""
    attempt = webhooks.webhook_attempt(
        tenant, delivery_id=delivery_id, number=number, trigger=trigger
    )
    return attempt.status_code if attempt else None


@tenant_task(atomic=False, heavy=True, name=exports.EXPORT_TASK)
def export_task(tenant: Tenant, export_id: int) -> None:
    """Write a background export (``integrations.exports.export_run``): a heavy
    job of the tenant. Safe to run twice: a finished export is left alone, an
    interrupted one is written again."""
    exports.export_run(tenant, export_id=export_id)


@tenant_task()
def exports_expire_task(tenant: Tenant) -> int:
    """Delete the tenant's expired exports and their files."""
    return exports.exports_expire(tenant)


@app.task(name="integrations.tasks.exports_expire_all")
def exports_expire_all() -> int:
    """Beat entry point (hourly): one expiry pass per tenant, once per hour
    however many beats send it (``spm.schedules.hourly_claim``)."""
    if not hourly_claim("integrations.exports_expire"):
        return 0
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        exports_expire_task.delay(tenant_id)
    return len(tenant_ids)
