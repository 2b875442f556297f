"""Webhooks end to end: a real Celery worker posts to a real HTTP receiver on
loopback, and the signature is verified with the ``standardwebhooks`` package."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from standardwebhooks import Webhook

from goals.services.quotas import quota_set
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from integrations.webhooks import services as webhooks
from integrations.webhooks.destinations import destination_check
from integrations.webhooks.signing import SECRET_PREFIX, secret_new, signed_headers
from pipeline.models import Deal
from pipeline.services.deals import deal_update
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.integrations.receiver import receiver
from tests.pipeline.factories import DealFactory, stage_named


def _verified(secret: str, request) -> dict:
    """The payload, once the ``standardwebhooks`` package accepts its signature."""
    return Webhook(secret).verify(request.body, request.headers)


def _deliveries(tenant):
    with tenant_context(tenant):
        return list(WebhookDelivery.objects.order_by("created_at", "id").prefetch_related("log"))


def test_signature_is_the_standard_webhooks_one():
    secret = secret_new()
    body = b'{"type":"deal.won","data":{"deal_id":7}}'
    headers = signed_headers(secret, message_id="msg_abc", timestamp=1_700_000_000, body=body)

    assert secret.startswith(SECRET_PREFIX)
    assert len(secret) == len(SECRET_PREFIX) + 44
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == "1700000000"
    wh = Webhook(secret)
    # The package checks the timestamp against now; its verify_signature-free
    # path is sign(): the same bytes must give the same header value.
    assert (
        wh.sign("msg_abc", dt.datetime.fromtimestamp(1_700_000_000, dt.UTC), body.decode())
        == (headers["webhook-signature"])
    )


@pytest.mark.parametrize(
    ("url", "allow_loopback", "message"),
    [
        ("http://hooks.example.com/spm", False, "Webhook URLs must use HTTPS (https://...)."),
        (
            "https://10.1.2.3/spm",
            False,
            "10.1.2.3 resolves to 10.1.2.3, a private address: webhooks are only delivered "
            "to public addresses.",
        ),
        (
            "https://169.254.169.254/latest",
            False,
            "169.254.169.254 resolves to 169.254.169.254, a link-local address: webhooks are "
            "only delivered to public addresses.",
        ),
        (
            "https://127.0.0.1:8443/spm",
            False,
            "127.0.0.1 resolves to 127.0.0.1, a loopback address: webhooks are only delivered "
            "to public addresses.",
        ),
        (
            "http://[::1]:8080/spm",
            True,
            None,
        ),
        (
            "http://192.168.0.10/spm",
            True,
            "Webhook URLs must use HTTPS (https://...).",
        ),
        ("ftp://example.com/x", False, "Enter a full URL starting with https://."),
    ],
)
def test_destination_check_refuses_plain_http_and_private_addresses(
    settings, url, allow_loopback, message
):
    settings.WEBHOOK_ALLOW_LOOPBACK = allow_loopback
    if message is None:
        destination_check(url)
        return
    with pytest.raises(ValidationError) as caught:
        destination_check(url)
    assert caught.value.message_dict == {"url": [message]}


def test_subscribe_through_the_api_refuses_a_private_address_and_saves_nothing(world_a):
    client = api_client_for(world_a.admin.user)
    response = client.post(
        "/api/v1/alpha/webhooks/",
        {"url": "https://10.0.0.7/hook", "event_types": ["deal.won"]},
    )
    assert response.status_code == 400
    assert response["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {
            "field": "url",
            "message": "10.0.0.7 resolves to 10.0.0.7, a private address: webhooks are only "
            "delivered to public addresses.",
        }
    ]
    with tenant_context(world_a.tenant):
        assert WebhookSubscription.objects.count() == 0


def test_webhooks_api_is_for_admins(world_a):
    for member in (world_a.manager, world_a.finance, world_a.rep1):
        response = api_client_for(member.user).post(
            "/api/v1/alpha/webhooks/",
            {"url": "http://127.0.0.1:9/x", "event_types": ["deal.won"]},
        )
        assert response.status_code == 403
        assert response.json()["detail"] == "This action needs one of these roles: admin."
    with tenant_context(world_a.tenant):
        assert WebhookSubscription.objects.count() == 0


def test_deal_won_is_delivered_signed_and_logged(world_a, worker):
    tenant = world_a.tenant
    with tenant_context(tenant):
        deal = DealFactory(
            tenant=tenant, owner=world_a.rep1, amount=Decimal("12500.50"), external_id="crm-77"
        )
    with receiver([200]) as endpoint:
        created = api_client_for(world_a.admin.user).post(
            "/api/v1/alpha/webhooks/",
            {"url": endpoint.url, "event_types": ["deal.won", "goal.approved"]},
        )
        assert created.status_code == 201
        secret = created.json()["secret"]
        with tenant_context(tenant):
            deal_update(
                tenant,
                deal=Deal.objects.get(pk=deal.pk),
                actor=world_a.rep1,
                stage=stage_named(tenant, "Closed won"),
                close_date=dt.date(2027, 2, 12),
            )
        (request,) = endpoint.wait_for(1)

    payload = _verified(secret, request)
    assert request.path == "/hooks/spm"
    assert payload["type"] == "deal.won"
    assert payload["data"] == {
        "deals": [
            {
                "deal_id": deal.pk,
                "name": deal.name,
                "external_id": "crm-77",
                "owner_id": world_a.rep1.pk,
                "amount": "12500.50",
                "currency": "USD",
                "close_date": "2027-02-12",
            }
        ]
    }
    (delivery,) = _wait_finished(tenant, 1)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert request.headers["webhook-id"] == delivery.message_id
    (attempt,) = delivery.log.all()
    assert (attempt.number, attempt.trigger, attempt.status_code, attempt.response_excerpt) == (
        1,
        "automatic",
        200,
        "received 1",
    )
    assert attempt.duration_ms < 5000


def _wait_finished(tenant, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = _deliveries(tenant)
        finished = [d for d in deliveries if d.status != WebhookDelivery.Status.PENDING]
        if len(finished) >= count and len(deliveries) == len(finished):
            return deliveries
        time.sleep(0.1)
    raise AssertionError(f"deliveries did not finish: {_deliveries(tenant)}")


def test_failed_attempts_are_retried_with_backoff_then_succeed(world_a, worker):
    tenant = world_a.tenant
    with receiver([503, 500, 200]) as endpoint:
        with tenant_context(tenant):
            subscription = webhooks.webhook_subscribe(
                tenant, url=endpoint.url, event_types=["quota.changed"], actor=world_a.admin
            )
            period = FiscalPeriod.objects.get(kind="quarter", start=dt.date(2027, 1, 1))
        with tenant_context(tenant):
            quota_set(
                tenant,
                actor=world_a.admin,
                period=period,
                amount=Decimal("90000.00"),
                membership=world_a.rep1,
            )
        requests = endpoint.wait_for(3)

    ids = {r.headers["webhook-id"] for r in requests}
    assert len(ids) == 1
    payloads = [_verified(subscription.secret, r) for r in requests]
    assert payloads[0]["data"] == {
        "set": [
            {
                "period_id": period.pk,
                "membership_id": world_a.rep1.pk,
                "team_id": None,
                "measure": "bookings",
                "amount": "90000.00",
            }
        ],
        "deleted": [],
    }
    (delivery,) = _wait_finished(tenant, 1)
    attempts = list(delivery.log.all())
    assert [(a.number, a.status_code) for a in attempts] == [(1, 503), (2, 500), (3, 200)]
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    # Backoff: 0.1 s after the first failure, 0.2 s after the second (test settings).
    times = [a.requested_at for a in attempts]
    gaps = [(times[1] - times[0]).total_seconds(), (times[2] - times[1]).total_seconds()]
    assert gaps[0] >= 0.1
    assert gaps[1] >= 0.2


def test_a_subscription_that_keeps_failing_is_paused_and_admins_emailed(world_a, worker):
    tenant = world_a.tenant
    with receiver([500]) as endpoint:
        with tenant_context(tenant):
            subscription = webhooks.webhook_subscribe(
                tenant, url=endpoint.url, event_types=["quota.changed"], actor=world_a.admin
            )
            period = FiscalPeriod.objects.get(kind="quarter", start=dt.date(2027, 1, 1))
        for amount in ("1000.00", "2000.00"):
            with tenant_context(tenant):
                quota_set(
                    tenant,
                    actor=world_a.admin,
                    period=period,
                    amount=Decimal(amount),
                    membership=world_a.rep1,
                )
            endpoint.wait_for(3 if amount == "1000.00" else 6)
        deliveries = _wait_finished(tenant, 2)
        # A third change is not delivered: the subscription is paused.
        with tenant_context(tenant):
            quota_set(
                tenant,
                actor=world_a.admin,
                period=period,
                amount=Decimal("3000.00"),
                membership=world_a.rep1,
            )
        assert len(endpoint.requests) == 6

    assert [(d.status, d.attempts) for d in deliveries] == [("failed", 3), ("failed", 3)]
    with tenant_context(tenant):
        subscription.refresh_from_db()
    assert (subscription.status, subscription.consecutive_failures) == ("paused", 2)
    assert subscription.status_reason == (
        "Paused after 2 deliveries in a row failed every attempt."
    )
    (email,) = mail.outbox
    assert email.to == ["admin@alpha.test"]
    assert email.subject == f"[SPM] Webhook paused: {endpoint.url}"
    assert f"/alpha/integrations/webhooks/{subscription.pk}/" in email.body


def test_replay_from_the_api_sends_the_same_message_again(world_a, worker):
    tenant = world_a.tenant
    with receiver([200]) as endpoint:
        with tenant_context(tenant):
            subscription = webhooks.webhook_subscribe(
                tenant, url=endpoint.url, event_types=["quota.changed"], actor=world_a.admin
            )
            period = FiscalPeriod.objects.get(kind="quarter", start=dt.date(2027, 1, 1))
        with tenant_context(tenant):
            quota_set(
                tenant,
                actor=world_a.admin,
                period=period,
                amount=Decimal("5000.00"),
                membership=world_a.rep1,
            )
        endpoint.wait_for(1)
        (delivery,) = _wait_finished(tenant, 1)
        response = api_client_for(world_a.admin.user).post(
            f"/api/v1/alpha/webhook-deliveries/{delivery.pk}/replay/"
        )
        assert response.status_code == 202
        first, again = endpoint.wait_for(2)

    assert again.headers["webhook-id"] == first.headers["webhook-id"] == delivery.message_id
    assert _verified(subscription.secret, again) == json.loads(first.body)
    (delivery,) = _wait_finished(tenant, 1)
    assert [(a.number, a.trigger, a.status_code) for a in delivery.log.all()] == [
        (1, "automatic", 200),
        (2, "replay", 200),
    ]
    listed = api_client_for(world_a.admin.user).get("/api/v1/alpha/webhook-deliveries/").json()
    assert [d["attempts"] for d in listed["results"]] == [2]


def test_attempt_made_twice_sends_once(world_a):
    """A task run twice (acks_late, a worker lost) sends each attempt number once."""
    tenant = world_a.tenant
    with receiver([200]) as endpoint:
        with tenant_context(tenant):
            subscription = webhooks.webhook_subscribe(
                tenant, url=endpoint.url, event_types=["deal.won"], actor=world_a.admin
            )
            delivery = WebhookDelivery.objects.create(
                tenant=tenant,
                subscription=subscription,
                message_id="msg_twice",
                event_type=WebhookEvent.DEAL_WON,
                payload={"type": "deal.won", "data": {}},
            )
        first = webhooks.webhook_attempt(
            tenant, delivery_id=delivery.pk, number=1, trigger="automatic"
        )
        second = webhooks.webhook_attempt(
            tenant, delivery_id=delivery.pk, number=1, trigger="automatic"
        )
        assert len(endpoint.requests) == 1
    assert first is not None
    assert first.status_code == 200
    assert second is None
    with tenant_context(tenant):
        assert WebhookAttempt.objects.count() == 1


def test_admin_subscribes_through_the_page_and_others_may_not(world_a):
    page = "/alpha/integrations/webhooks/"
    for member in (world_a.manager, world_a.finance, world_a.rep1):
        assert client_for(member.user).get(page).status_code == 403
    client = client_for(world_a.admin.user)
    refused = client.post(page, {"url": "https://10.9.9.9/x", "event_types": ["deal.won"]})
    assert refused.status_code == 400
    assert "10.9.9.9 resolves to 10.9.9.9, a private address" in refused.content.decode()

    response = client.post(
        page,
        {"url": "http://127.0.0.1:9/spm", "event_types": ["deal.won", "kpi_run.finished"]},
    )
    with tenant_context(world_a.tenant):
        subscription = WebhookSubscription.objects.get()
    assert response.status_code == 302
    assert response["location"] == f"/alpha/integrations/webhooks/{subscription.pk}/"
    assert subscription.event_types == ["deal.won", "kpi_run.finished"]
    detail = client.get(response["location"]).content.decode()
    assert subscription.secret in detail
    assert "Nothing delivered yet" in detail
