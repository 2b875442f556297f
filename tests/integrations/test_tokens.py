"""Tenant API tokens through the API: issue, scopes, tenants, expiry, revocation, rate limits."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from integrations.models import ApiToken
from spm.models import AuditEvent
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for
from tests.integrations.factories import bearer, issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def test_admin_issues_a_token_whose_key_is_shown_once_and_stored_hashed(world_a):
    admin = api_client_for(world_a.admin.user)
    expires = (timezone.now() + dt.timedelta(days=90)).replace(microsecond=0)

    created = admin.post(
        "/api/v1/alpha/tokens/",
        {"name": "BI export", "scopes": ["reports:read"], "expires_at": expires.isoformat()},
    )

    assert created.status_code == 201
    body = created.json()
    key = body.pop("key")
    token_id = body["id"]
    with tenant_context(world_a.tenant):
        token = ApiToken.objects.get(pk=token_id)
        audit = AuditEvent.objects.get(action="api_token.create")
    assert key.startswith(f"spm_{world_a.tenant.pk}_{token.prefix}_")
    secret = key.split("_", 3)[3]
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in token.secret_hash
    assert body["scopes"] == ["reports:read"]
    assert body["is_active"] is True
    assert audit.object_id == str(token_id)
    listed = admin.get("/api/v1/alpha/tokens/").json()["results"]
    assert [row["id"] for row in listed] == [token_id]
    assert "key" not in listed[0]
    assert bearer(key).get("/api/v1/alpha/members/").status_code == 200


def test_token_reads_within_its_scope_and_records_its_last_use(world_a):
    issued = issue_token(world_a.admin, ["reports:read"])

    with time_machine.travel(timezone.now(), tick=False):
        response = bearer(issued.key).get("/api/v1/alpha/teams/")
        used_at = timezone.now()

    assert response.status_code == 200
    assert [team["name"] for team in response.json()["results"]] == ["Sales", "West", "East"]
    with tenant_context(world_a.tenant):
        assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == used_at


def test_missing_scope_is_403_naming_it_and_nothing_changes(world_a):
    issued = issue_token(world_a.admin, ["quotas:read"])
    client = bearer(issued.key)

    read = client.get("/api/v1/alpha/members/")
    write = client.post("/api/v1/alpha/deals/", {"name": "Sneaky"})

    assert read.status_code == 403
    assert read["Content-Type"] == "application/problem+json"
    assert read.json() == {
        "type": "urn:spm:problem:missing-scope",
        "title": "Forbidden",
        "status": 403,
        "detail": "This token lacks the scope reports:read.",
    }
    assert write.status_code == 403
    assert write.json()["detail"] == "This token lacks the scope deals:write."


def test_write_scope_allows_reading_the_same_endpoint(world_a):
    issued = issue_token(world_a.admin, ["quotas:write"])

    assert bearer(issued.key).get("/api/v1/alpha/quotas/").status_code == 200
    assert bearer(issued.key).get("/api/v1/alpha/deals/").status_code == 403


def test_tokens_cannot_manage_tokens(world_a):
    issued = issue_token(world_a.admin, ["reports:read", "deals:write"])

    response = bearer(issued.key).get("/api/v1/alpha/tokens/")

    assert response.status_code == 403
    assert response.json()["detail"] == "API tokens cannot read this endpoint; sign in instead."


def test_token_of_another_tenant_answers_404_like_an_unknown_slug(world_a, world_b):
    # Ada is also a member of beta: the token still acts in alpha only.
    issued = issue_token(world_a.admin, ["reports:read"])
    client = bearer(issued.key)

    foreign = client.get("/api/v1/beta/members/")
    unknown = client.get("/api/v1/no-such-tenant/members/")

    assert foreign.status_code == 404
    assert unknown.status_code == 404
    assert foreign.json() == unknown.json()


def test_token_ignored_outside_tenant_urls(world_a):
    issued = issue_token(world_a.admin, ["reports:read"])

    response = bearer(issued.key).get("/api/v1/me/")

    assert response.status_code == 401
    assert response.json()["detail"] == "API tokens work on tenant URLs (/api/v1/<tenant>/...)."


def test_expired_token_is_401(world_a):
    issued = issue_token(world_a.admin, ["reports:read"], lifetime=dt.timedelta(days=1))

    with time_machine.travel(timezone.now() + dt.timedelta(days=1, seconds=1)):
        response = bearer(issued.key).get("/api/v1/alpha/members/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["detail"] == "This token has expired."


def test_revoke_takes_effect_at_once(world_a):
    issued = issue_token(world_a.admin, ["reports:read"])
    client = bearer(issued.key)
    assert client.get("/api/v1/alpha/members/").status_code == 200

    revoked = api_client_for(world_a.admin.user).post(
        f"/api/v1/alpha/tokens/{issued.token.pk}/revoke/"
    )
    after = client.get("/api/v1/alpha/members/")

    assert revoked.status_code == 200
    assert revoked.json()["is_active"] is False
    assert after.status_code == 401
    assert after.json()["detail"] == "This token was revoked."


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer spm_1_abcd_wrong", "Bearer a b"],
)
def test_malformed_or_unknown_keys_are_401(world_a, header):
    issued = issue_token(world_a.admin, ["reports:read"])
    forged = f"spm_{world_a.tenant.pk}_{issued.token.prefix}_not-the-secret"
    client = bearer(forged)
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get("/api/v1/alpha/members/").status_code == 401
    assert bearer(forged).get("/api/v1/alpha/members/").status_code == 401


def test_only_admins_manage_tokens_and_other_tenants_see_none(world_a, world_b):
    issued = issue_token(world_a.admin, ["reports:read"])
    url = f"/api/v1/alpha/tokens/{issued.token.pk}/"

    assert api_client_for(world_a.manager.user).get(url).status_code == 403
    assert (
        api_client_for(world_b.admin.user)
        .get(f"/api/v1/beta/tokens/{issued.token.pk}/")
        .status_code
        == 404
    )
    assert api_client_for(world_a.admin.user).get(url).json()["name"] == "CRM sync"


def test_token_rate_limit_is_429_with_retry_after(world_a, settings):
    settings.SPM_API_TOKEN_RATE = "2/minute"
    now = timezone.now()
    issued = issue_token(world_a.admin, ["reports:read"])
    client = bearer(issued.key)

    with time_machine.travel(now, tick=False):
        statuses = [client.get("/api/v1/alpha/periods/").status_code for _ in range(3)]
        limited = client.get("/api/v1/alpha/periods/")

    assert statuses == [200, 200, 429]
    assert limited["Retry-After"] == "60"
    assert limited.json()["type"] == "urn:spm:problem:rate-limited"
    with time_machine.travel(now + dt.timedelta(seconds=61), tick=False):
        assert client.get("/api/v1/alpha/periods/").status_code == 200


def test_tenant_rate_limit_counts_all_its_tokens(world_a, world_b, settings):
    settings.SPM_API_TENANT_RATE = "3/minute"
    now = timezone.now()
    first = bearer(issue_token(world_a.admin, ["reports:read"]).key)
    second = bearer(issue_token(world_a.admin, ["reports:read"], name="BI").key)
    other_tenant = bearer(issue_token(world_b.admin, ["reports:read"]).key)

    with time_machine.travel(now, tick=False):
        statuses = [
            first.get("/api/v1/alpha/periods/").status_code,
            second.get("/api/v1/alpha/periods/").status_code,
            first.get("/api/v1/alpha/periods/").status_code,
            second.get("/api/v1/alpha/periods/").status_code,
            other_tenant.get("/api/v1/beta/periods/").status_code,
        ]

    assert statuses == [200, 200, 200, 429, 200]


def test_a_token_request_costs_a_fixed_number_of_queries(world_a, django_assert_num_queries):
    client = bearer(issue_token(world_a.admin, ["reports:read"]).key)
    client.get("/api/v1/alpha/teams/")  # records the token's use (at most once a minute)

    with django_assert_num_queries(16):
        response = client.get("/api/v1/alpha/teams/")

    assert response.status_code == 200
