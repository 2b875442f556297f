"""Objects of the integrations app for the isolation tests (see test_discovery.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from integrations.exports import export_request
from integrations.models import AuditRecord, WebhookDelivery, WebhookEvent
from integrations.services import api_token_create
from integrations.webhooks import services as webhooks


def make_objects(world: Any) -> list[Any]:
    t = world.tenant
    issued = api_token_create(
        t,
        name="Isolation token",
        scopes=["reports:read"],
        expires_at=timezone.now() + dt.timedelta(days=30),
        actor=world.admin,
    )
    subscription = webhooks.webhook_subscribe(
        t,
        url="http://127.0.0.1:9/isolation",
        event_types=[WebhookEvent.DEAL_WON],
        actor=world.admin,
    )
    delivery = WebhookDelivery.objects.create(
        tenant=t,
        subscription=subscription,
        message_id=f"msg_isolation_{t.slug}",
        event_type=WebhookEvent.DEAL_WON,
        payload={"type": WebhookEvent.DEAL_WON, "data": {}},
    )
    # The audit trail recorded the world's members and teams as they were made.
    record = AuditRecord.objects.filter(tenant=t, object_type="spm.membership").earliest("id")
    export = export_request(t, path="deals/", export_format="csv", requested_by=world.admin)
    return [issued.token, subscription, delivery, record, export]
