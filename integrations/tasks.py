"""Celery tasks of the integration platform: thin wrappers around its services."""

from __future__ import annotations

from integrations.webhooks import services as webhooks
from spm.models import Tenant
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
