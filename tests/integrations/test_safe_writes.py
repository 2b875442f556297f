"""Safe writes through the API: Idempotency-Key replays, 422 and 409; ETag
and If-Match on quotas, goals, plans and deals (412, 428)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from goals.models import Quota, QuotaChange
from integrations.models import IdempotentRequest
from spm.db.locks import lock_key
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for
from tests.goals.factories import GoalFactory, QuotaFactory, period
from tests.integrations.factories import bearer, issue_token
from tests.pipeline.factories import DealFactory

pytestmark = pytest.mark.django_db

BULK = "/api/v1/alpha/quotas/bulk/"


@pytest.fixture
def months(world_a):
    with tenant_context(world_a.tenant):
        return [period(world_a.tenant, "month", 2027, n) for n in (1, 2)]


def _rows(world_a, months, amount="1000.00"):
    return {
        "rows": [
            {"period": months[0].pk, "membership": world_a.rep1.pk, "amount": amount},
            {"period": months[1].pk, "team": world_a.team.pk, "amount": "2500.50"},
        ]
    }


def _quota_changes(world_a) -> int:
    with tenant_context(world_a.tenant):
        return QuotaChange.objects.count()


def test_replay_with_the_same_key_returns_the_first_answer_and_writes_once(world_a, months):
    client = bearer(issue_token(world_a.admin, ["quotas:write"]).key)
    body = _rows(world_a, months)

    first = client.post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="sync-2027-01")
    changes = _quota_changes(world_a)
    replay = client.post(BULK, body, format="json", HTTP_IDEMPOTENCY_KEY="sync-2027-01")

    assert first.status_code == 200
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert [row["amount"] for row in replay.json()] == ["1000.00", "2500.50"]
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert _quota_changes(world_a) == changes == 2
    with tenant_context(world_a.tenant):
        stored = IdempotentRequest.objects.get(key="sync-2027-01")
    assert (stored.method, stored.path, stored.response_status) == ("POST", BULK, 200)


def test_same_key_with_another_body_is_422_and_changes_nothing(world_a, months):
    client = api_client_for(world_a.admin.user)
    client.post(BULK, _rows(world_a, months), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    other = client.post(
        BULK, _rows(world_a, months, amount="9.99"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert other.status_code == 422
    assert other["Content-Type"] == "application/problem+json"
    assert other.json() == {
        "type": "urn:spm:problem:idempotency-key-reused",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "The Idempotency-Key 'k-1' was first used with another request; "
        "use a new key for a new request.",
    }
    with tenant_context(world_a.tenant):
        amounts = sorted(Quota.objects.values_list("amount", flat=True))
    assert amounts == [Decimal("1000.00"), Decimal("2500.50")]


def test_a_duplicate_while_the_first_runs_is_409(world_a, months):
    # The first request holds the key's lock until its transaction ends; another
    # connection stands in for it, holding the lock while the duplicate arrives.
    held, release = threading.Event(), threading.Event()

    def first_request_in_flight():
        connection = connections.create_connection("default")
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    [world_a.tenant.pk, lock_key("idempotency:k-busy")],
                )
                held.set()
                release.wait(timeout=30)
                cursor.execute("ROLLBACK")
        finally:
            connection.close()

    worker = threading.Thread(target=first_request_in_flight)
    worker.start()
    held.wait(timeout=30)
    try:
        duplicate = api_client_for(world_a.admin.user).post(
            BULK, _rows(world_a, months), format="json", HTTP_IDEMPOTENCY_KEY="k-busy"
        )
    finally:
        release.set()
        worker.join()

    assert duplicate.status_code == 409
    assert duplicate.json()["type"] == "urn:spm:problem:idempotency-key-in-progress"
    assert _quota_changes(world_a) == 0


def test_keys_are_per_tenant(world_a, world_b, months):
    with tenant_context(world_b.tenant):
        beta_month = period(world_b.tenant, "month", 2027, 1)
    alpha = api_client_for(world_a.admin.user).post(
        BULK, _rows(world_a, months), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    beta = api_client_for(world_b.admin.user).post(
        "/api/v1/beta/quotas/bulk/",
        {"rows": [{"period": beta_month.pk, "membership": world_b.rep1.pk, "amount": "7.00"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared",
    )

    assert (alpha.status_code, beta.status_code) == (200, 200)
    assert [row["amount"] for row in beta.json()] == ["7.00"]


def test_a_failed_request_is_not_stored_and_may_be_retried(world_a, months):
    client = api_client_for(world_a.admin.user)
    bad = _rows(world_a, months, amount="not money")

    refused = client.post(BULK, bad, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    fixed = client.post(BULK, bad, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")

    assert (refused.status_code, fixed.status_code) == (400, 400)
    with tenant_context(world_a.tenant):
        assert not IdempotentRequest.objects.filter(key="retry-me").exists()


def test_an_overlong_key_is_400_naming_the_header(world_a, months):
    response = api_client_for(world_a.admin.user).post(
        BULK, _rows(world_a, months), format="json", HTTP_IDEMPOTENCY_KEY="x" * 256
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "Idempotency-Key", "message": "Use 1 to 255 printable characters."}
    ]


@pytest.fixture
def quota(world_a):
    with tenant_context(world_a.tenant):
        return QuotaFactory(
            tenant=world_a.tenant,
            actor=world_a.admin,
            period=period(world_a.tenant, "quarter", 2027, 1),
            membership=world_a.rep1,
        )


def test_patch_needs_if_match_with_the_current_etag(world_a, quota):
    client = api_client_for(world_a.manager.user)
    url = f"/api/v1/alpha/quotas/{quota.pk}/"
    etag = client.get(url)["ETag"]

    missing = client.patch(url, {"amount": "1.00"}, format="json")
    changed = client.patch(url, {"amount": "95000.00"}, format="json", HTTP_IF_MATCH=etag)
    stale = client.patch(url, {"amount": "2.00"}, format="json", HTTP_IF_MATCH=etag)

    assert missing.status_code == 428
    assert missing.json()["type"] == "urn:spm:problem:precondition-required"
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed["ETag"] == client.get(url)["ETag"]
    assert stale.status_code == 412
    assert stale.json() == {
        "type": "urn:spm:problem:precondition-failed",
        "title": "Precondition Failed",
        "status": 412,
        "detail": "The record changed since you read it (If-Match does not match its ETag).",
    }
    with tenant_context(world_a.tenant):
        assert Quota.objects.get(pk=quota.pk).amount == Decimal("95000.00")


def test_a_change_made_elsewhere_makes_the_etag_stale(world_a, quota):
    client = api_client_for(world_a.manager.user)
    url = f"/api/v1/alpha/quotas/{quota.pk}/"
    etag = client.get(url)["ETag"]
    with tenant_context(world_a.tenant):
        Quota.objects.filter(pk=quota.pk).update(amount=Decimal("1.00"))

    response = client.put(
        url,
        {"period": quota.period_id, "membership": world_a.rep1.pk, "amount": "5.00"},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert response.status_code == 412
    with tenant_context(world_a.tenant):
        assert Quota.objects.get(pk=quota.pk).amount == Decimal("1.00")


def test_deals_and_goals_carry_etags_and_need_if_match(world_a):
    with tenant_context(world_a.tenant):
        deal = DealFactory(tenant=world_a.tenant, actor=world_a.rep1, owner=world_a.rep1)
        goal = GoalFactory(tenant=world_a.tenant, actor=world_a.admin)
    client = api_client_for(world_a.admin.user)
    deal_url = f"/api/v1/alpha/deals/{deal.pk}/"

    goal_etag = client.get(f"/api/v1/alpha/goals/{goal.pk}/")["ETag"]
    deal_etag = client.get(deal_url)["ETag"]
    missing = client.patch(deal_url, {"name": "Renamed"}, format="json")
    renamed = client.patch(deal_url, {"name": "Renamed"}, format="json", HTTP_IF_MATCH=deal_etag)

    assert len(goal_etag) == len(deal_etag) == 34
    assert missing.status_code == 428
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Renamed")
