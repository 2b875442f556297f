"""Every write of the webhooks: subscriptions, dispatch, attempts, replays.

A delivery is attempted by the Celery task ``ATTEMPT_TASK`` (one task per
attempt, enqueued after the commit that made it due). A failed attempt
(no answer, or an answer outside 2xx) is tried again after
``WEBHOOK_RETRY_BASE_SECONDS x 2^(n-1)`` seconds, ``WEBHOOK_MAX_ATTEMPTS``
attempts in all; then the delivery has failed. A subscription whose last
``WEBHOOK_PAUSE_AFTER_FAILURES`` deliveries all failed is paused (nothing is
sent to it until an admin resumes it) and the tenant's admins are emailed.
A replay (from the page or the API) is one more attempt of the same message,
with the same ``webhook-id``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from integrations.webhooks.destinations import destination_check
from integrations.webhooks.messages import Message
from integrations.webhooks.signing import secret_new, signed_headers
from spm.models import Membership, Role, Tenant
from spm.outbox import enqueue_on_commit
from spm.services import audit_record
from spm.tenancy.context import tenant_context

ATTEMPT_TASK = "integrations.tasks.webhook_attempt_task"
EXCERPT_CHARS = 500


# Subscriptions -----------------------------------------------------------------------


def _clean_event_types(event_types: Iterable[str]) -> list[str]:
    chosen = sorted(set(event_types))
    unknown = [name for name in chosen if name not in WebhookEvent.values]
    if unknown:
        raise ValidationError(
            {
                "event_types": f"Unknown event type: {', '.join(unknown)}. "
                f"Choose from {', '.join(WebhookEvent.values)}."
            }
        )
    if not chosen:
        raise ValidationError({"event_types": "Choose at least one event type."})
    return chosen


def webhook_subscribe(
    tenant: Tenant,
    *,
    url: str,
    event_types: Iterable[str],
    description: str = "",
    actor: Membership,
) -> WebhookSubscription:
    """Subscribe ``url`` to ``event_types`` with a new signing secret.

    Raises ``ValidationError`` naming the field: a URL that is not HTTPS or
    resolves to a private address (``destinations``), an unknown or no event
    type."""
    chosen = _clean_event_types(event_types)
    destination_check(url)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            tenant=tenant,
            url=url,
            description=description,
            event_types=chosen,
            secret=secret_new(),
            created_by=actor,
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="webhook.subscribe",
            obj=subscription,
            data={"url": url, "event_types": chosen},
        )
    return subscription


def webhook_update(
    tenant: Tenant,
    *,
    subscription: WebhookSubscription,
    url: str,
    event_types: Iterable[str],
    description: str,
    actor: Membership,
) -> WebhookSubscription:
    """Change a subscription's URL, event types and description (checked as
    ``webhook_subscribe`` checks them); the secret stays."""
    chosen = _clean_event_types(event_types)
    destination_check(url)
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(
            tenant=tenant, pk=subscription.pk
        )
        before = {"url": locked.url, "event_types": locked.event_types}
        locked.url, locked.event_types, locked.description = url, chosen, description
        locked.save(update_fields=["url", "event_types", "description"])
        audit_record(
            tenant,
            actor=actor.user,
            action="webhook.update",
            obj=locked,
            data={"from": before, "to": {"url": url, "event_types": chosen}},
        )
    return locked


def webhook_resume(
    tenant: Tenant, *, subscription: WebhookSubscription, actor: Membership
) -> WebhookSubscription:
    """Make a paused subscription active again, with its failure count cleared."""
    with transaction.atomic():
        WebhookSubscription.objects.filter(tenant=tenant, pk=subscription.pk).update(
            status=WebhookSubscription.Status.ACTIVE, status_reason="", consecutive_failures=0
        )
        audit_record(tenant, actor=actor.user, action="webhook.resume", obj=subscription)
    return WebhookSubscription.objects.get(tenant=tenant, pk=subscription.pk)


def webhook_delete(tenant: Tenant, *, subscription: WebhookSubscription, actor: Membership) -> None:
    """Delete a subscription with its delivery log."""
    with transaction.atomic():
        audit_record(
            tenant,
            actor=actor.user,
            action="webhook.delete",
            obj=subscription,
            data={"url": subscription.url},
        )
        WebhookSubscription.objects.filter(tenant=tenant, pk=subscription.pk).delete()


# Dispatch ------------------------------------------------------------------------------


def webhook_types_subscribed(tenant: Tenant) -> set[str]:
    """The event types some active subscription of the tenant asks for (one query)."""
    rows = WebhookSubscription.objects.filter(
        tenant=tenant, status=WebhookSubscription.Status.ACTIVE
    ).values_list("event_types", flat=True)
    return {event_type for types in rows for event_type in types}


def webhooks_dispatch(tenant: Tenant, *, messages: list[Message]) -> list[WebhookDelivery]:
    """One delivery per message and active subscription that asked for its
    type, each with its first attempt enqueued after the commit. Call inside
    the tenant's context. Two queries (subscriptions, deliveries) when any
    subscription matches."""
    if not messages:
        return []
    types = sorted({event_type for event_type, _data in messages})
    subscriptions = list(
        WebhookSubscription.objects.filter(
            tenant=tenant,
            status=WebhookSubscription.Status.ACTIVE,
            event_types__overlap=types,
        )
    )
    if not subscriptions:
        return []
    sent_at = timezone.now().isoformat()
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            tenant=tenant,
            subscription=subscription,
            message_id=f"msg_{uuid.uuid4().hex}",
            event_type=event_type,
            payload={"type": event_type, "timestamp": sent_at, "data": data},
        )
        for event_type, data in messages
        for subscription in subscriptions
        if event_type in subscription.event_types
    )
    for delivery in deliveries:
        enqueue_on_commit(ATTEMPT_TASK, tenant.pk, delivery.pk, 1, WebhookAttempt.Trigger.AUTOMATIC)
    return deliveries


# Attempts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What one HTTP request of a delivery got back."""

    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str


def message_body(payload: dict) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def _post(subscription: WebhookSubscription, delivery: WebhookDelivery) -> Answer:
    """POST the signed message (never following redirects); the destination
    is checked again first, as its name may now resolve elsewhere."""
    started = time.monotonic()
    try:
        destination_check(subscription.url)
    except ValidationError as exc:
        return Answer(None, 0, "", " ".join(exc.messages)[:300])
    body = message_body(delivery.payload)
    headers = signed_headers(
        subscription.secret,
        message_id=delivery.message_id,
        timestamp=int(time.time()),
        body=body,
    )
    try:
        with requests.post(
            subscription.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            raw = next(response.iter_content(EXCERPT_CHARS * 4), b"")
            excerpt = raw.decode(response.encoding or "utf-8", errors="replace")[:EXCERPT_CHARS]
            status_code = response.status_code
    except requests.RequestException as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Answer(None, elapsed, "", f"{type(exc).__name__}: {exc}"[:300])
    return Answer(status_code, int((time.monotonic() - started) * 1000), excerpt, "")


def retry_delay(number: int) -> float:
    """Seconds to wait after failed attempt ``number`` (1, 2, ...) before the next."""
    return float(settings.WEBHOOK_RETRY_BASE_SECONDS) * 2 ** (number - 1)


def webhook_attempt(
    tenant: Tenant, *, delivery_id: int, number: int, trigger: str
) -> WebhookAttempt | None:
    """Make attempt ``number`` of a delivery and record it.

    Returns None, sending nothing, when that attempt was already made (the
    task ran twice) or when an automatic attempt is no longer wanted (the
    delivery succeeded or was deleted, the subscription is paused). Opens its
    own transactions, and none is open while the request is in flight: call
    outside any transaction."""
    with tenant_context(tenant):
        delivery = (
            WebhookDelivery.objects.select_related("subscription")
            .filter(tenant=tenant, pk=delivery_id)
            .first()
        )
    if delivery is None or delivery.attempts >= number:
        return None
    automatic = trigger == WebhookAttempt.Trigger.AUTOMATIC
    if automatic and (
        delivery.status != WebhookDelivery.Status.PENDING
        or delivery.subscription.status != WebhookSubscription.Status.ACTIVE
    ):
        return None
    requested_at = timezone.now()
    answer = _post(delivery.subscription, delivery)
    with tenant_context(tenant):
        return _attempt_record(
            tenant,
            delivery_id=delivery_id,
            number=number,
            trigger=trigger,
            requested_at=requested_at,
            answer=answer,
        )


def _attempt_record(
    tenant: Tenant,
    *,
    delivery_id: int,
    number: int,
    trigger: str,
    requested_at: dt.datetime,
    answer: Answer,
) -> WebhookAttempt | None:
    delivery = (
        WebhookDelivery.objects.select_for_update().filter(tenant=tenant, pk=delivery_id).first()
    )
    if delivery is None or delivery.attempts >= number:
        return None
    attempt = WebhookAttempt.objects.create(
        tenant=tenant,
        delivery=delivery,
        number=number,
        trigger=trigger,
        requested_at=requested_at,
        status_code=answer.status_code,
        duration_ms=answer.duration_ms,
        response_excerpt=answer.excerpt,
        error=answer.error,
    )
    automatic = trigger == WebhookAttempt.Trigger.AUTOMATIC
    last = attempt.succeeded or not automatic or number >= settings.WEBHOOK_MAX_ATTEMPTS
    delivery.attempts = number
    delivery.last_status_code = answer.status_code
    delivery.last_attempt_at = requested_at
    delivery.next_attempt_at = None
    if attempt.succeeded:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
    elif last:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        delay = retry_delay(number)
        delivery.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
        enqueue_on_commit(
            ATTEMPT_TASK, tenant.pk, delivery.pk, number + 1, trigger, countdown=delay
        )
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "last_status_code",
            "last_attempt_at",
            "next_attempt_at",
        ]
    )
    subscriptions = WebhookSubscription.objects.filter(tenant=tenant, pk=delivery.subscription_id)
    if attempt.succeeded:
        subscriptions.update(consecutive_failures=0)
    elif last and automatic:
        subscriptions.update(consecutive_failures=F("consecutive_failures") + 1)
        _pause_if_failing(tenant, subscription_id=delivery.subscription_id)
    return attempt


def _pause_if_failing(tenant: Tenant, *, subscription_id: int) -> None:
    threshold = settings.WEBHOOK_PAUSE_AFTER_FAILURES
    reason = f"Paused after {threshold} deliveries in a row failed every attempt."
    paused = WebhookSubscription.objects.filter(
        tenant=tenant,
        pk=subscription_id,
        status=WebhookSubscription.Status.ACTIVE,
        consecutive_failures__gte=threshold,
    ).update(status=WebhookSubscription.Status.PAUSED, status_reason=reason)
    if paused:
        subscription = WebhookSubscription.objects.get(tenant=tenant, pk=subscription_id)
        audit_record(
            tenant, actor=None, action="webhook.pause", obj=subscription, data={"reason": reason}
        )
        transaction.on_commit(lambda: _admins_email_paused(tenant, subscription))


def _admins_email_paused(tenant: Tenant, subscription: WebhookSubscription) -> None:
    with tenant_context(tenant):
        emails = sorted(
            Membership.objects.filter(tenant=tenant, role=Role.ADMIN, is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    if not emails:
        return
    page = settings.SPM_BASE_URL.rstrip("/") + reverse(
        "integrations:webhook-detail", kwargs={"tenant_slug": tenant.slug, "pk": subscription.pk}
    )
    send_mail(
        subject=f"[SPM] Webhook paused: {subscription.url}",
        message=(
            f"The webhook subscription {subscription.url} of {tenant.name} was paused: "
            f"its last {settings.WEBHOOK_PAUSE_AFTER_FAILURES} deliveries failed every "
            f"attempt. Nothing is sent to it until an admin resumes it.\n\n"
            f"Delivery log, replay and resume: {page}\n"
        ),
        from_email=None,
        recipient_list=emails,
    )


def webhook_delivery_replay(
    tenant: Tenant, *, delivery: WebhookDelivery, actor: Membership
) -> WebhookDelivery:
    """Send ``delivery`` once more (same message id, fresh timestamp and
    signature), after the commit, whatever its status and even when the
    subscription is paused."""
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(tenant=tenant, pk=delivery.pk)
        locked.status = WebhookDelivery.Status.PENDING
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "next_attempt_at"])
        enqueue_on_commit(
            ATTEMPT_TASK, tenant.pk, locked.pk, locked.attempts + 1, WebhookAttempt.Trigger.REPLAY
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="webhook.replay",
            obj=locked,
            data={"message_id": locked.message_id},
        )
    return locked
