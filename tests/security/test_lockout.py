"""Ten failed log-ins lock the user and the address out, on the browser login
and on the API token endpoint alike, with an audit event."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from spm.models import AuditEvent
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _lockouts(world):  # type: ignore[no-untyped-def]
    with tenant_context(world.tenant):
        return list(
            AuditEvent.objects.filter(action="login.locked_out")
            .order_by("created_at", "id")
            .values_list("data", flat=True)
        )


def test_ten_failures_lock_the_browser_login(world_a):
    browser = Client(REMOTE_ADDR="203.0.113.7")
    failures = [
        browser.post("/accounts/login/", {"username": "rep1@alpha.test", "password": "nope"})
        for _ in range(10)
    ]

    right_password = browser.post(
        "/accounts/login/", {"username": "rep1@alpha.test", "password": PASSWORD}
    )
    other_user_same_address = browser.post(
        "/accounts/login/", {"username": "rep2@alpha.test", "password": PASSWORD}
    )
    same_user_other_address = Client(REMOTE_ADDR="198.51.100.9").post(
        "/accounts/login/", {"username": "rep1@alpha.test", "password": PASSWORD}
    )

    assert settings.AXES_FAILURE_LIMIT == 10
    assert [r.status_code for r in failures] == [200] * 9 + [429]
    assert [
        r.status_code for r in (right_password, other_user_same_address, same_user_other_address)
    ] == [429, 429, 429]
    assert "Too many failed log-ins" in right_password.content.decode()
    assert _lockouts(world_a)[0] == {
        "username": "rep1@alpha.test",
        "ip_address": "203.0.113.7",
        "via": "browser",
    }


# Committed for real: the token endpoint runs in no transaction of its own, and a
# refused request's answer (spm.api.errors) rolls back whatever encloses it.
@pytest.mark.django_db(transaction=True)
def test_ten_failures_lock_the_api_token_endpoint(world_a):
    api = Client(REMOTE_ADDR="203.0.113.8")

    def ask(password: str):  # type: ignore[no-untyped-def]
        return api.post(
            "/api/v1/auth/token/",
            {"username": "rep1@alpha.test", "password": password},
            content_type="application/json",
        )

    failures = [ask("nope") for _ in range(10)]
    locked = ask(PASSWORD)

    assert [r.status_code for r in failures] == [400] * 9 + [429]
    assert (locked.status_code, locked["Content-Type"]) == (429, "application/problem+json")
    assert locked.json()["title"] == "Locked out"
    assert "token" not in locked.json()
    assert _lockouts(world_a)[0] == {
        "username": "rep1@alpha.test",
        "ip_address": "203.0.113.8",
        "via": "api",
    }
