"""The integration platform's receiver of the domain events: webhook dispatch.

Each service call's events become webhook messages (``webhooks.messages``)
and one delivery per subscription that asked for them; the HTTP requests
are made by Celery after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from integrations.webhooks.messages import SOURCE_EVENTS, webhook_messages
from integrations.webhooks.services import webhook_types_subscribed, webhooks_dispatch
from spm import events
from spm.models import Tenant
from spm.tenancy.context import tenant_context


@events.subscribe(*SOURCE_EVENTS)
def webhooks_on_events(batch: Sequence[events.Event]) -> None:
    """Queue the deliveries of ``batch``'s messages, tenant by tenant."""
    for tenant_id in sorted({event.tenant_id for event in batch}):
        tenant = Tenant.objects.get(pk=tenant_id)
        mine = [event for event in batch if event.tenant_id == tenant_id]
        with tenant_context(tenant):
            wanted = webhook_types_subscribed(tenant)
            if wanted:
                messages = webhook_messages(tenant, mine, wanted=wanted)
                webhooks_dispatch(tenant, messages=messages)
