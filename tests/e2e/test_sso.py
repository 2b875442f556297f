"""Single sign-on end to end: a real OpenID Connect provider (panva's
node-oidc-provider, installed from npm into tests/e2e/oidc_provider and run
with node on loopback) and Chromium signing in through it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from integrations import sso
from spm import devstack
from spm.models import Membership, User
from spm.tenancy.context import tenant_context
from tests.conftest import client_for

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
CLIENT_ID = "spm-alpha"
CLIENT_SECRET = "a-long-client-secret-for-the-tests"  # noqa: S105


@pytest.fixture(scope="session")
def provider_installed() -> Path:
    """node-oidc-provider from the npm registry, installed once per checkout."""
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed for the SSO tests (Node.js 20 or later)"
        subprocess.run(  # noqa: S603
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=PROVIDER_DIR,
            check=True,
            timeout=300,
        )
    return PROVIDER_DIR


@pytest.fixture
def provider(provider_installed: Path, live_server: Any) -> Iterator[str]:
    """The provider's issuer URL, with SPM's callback on live_server registered."""
    port = devstack.free_port()
    redirect_uri = f"{live_server.url}/accounts/sso/callback/"
    process = subprocess.Popen(  # noqa: S603
        [
            shutil.which("node") or "node",
            "provider.mjs",
            str(port),
            CLIENT_ID,
            CLIENT_SECRET,
            redirect_uri,
        ],
        cwd=provider_installed,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    try:
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def alpha_sso(world_a: Any, provider: str) -> str:
    with tenant_context(world_a.tenant):
        sso.sso_config_save(
            world_a.tenant,
            actor=world_a.admin,
            issuer=provider,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            allowed_domains="alpha.test, Alpha-Sales.test",
            default_role="rep",
            required=False,
        )
    return provider


def _sign_in_at_provider(page: Page, live_server: Any, email: str) -> None:
    page.goto(f"{live_server.url}/alpha/integrations/sso/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", "any password: the provider's dev sign-in")
    page.click("button[type=submit]")
    page.click("button[type=submit]")  # consent: "Continue"
    page.wait_for_load_state("networkidle")


@pytest.mark.django_db(transaction=True)
def test_a_member_signs_in_through_the_tenants_provider(
    page: Page, live_server, world_a, alpha_sso
):
    _sign_in_at_provider(page, live_server, "rep1@alpha.test")

    expect(page).to_have_url(f"{live_server.url}/alpha/")
    expect(page.get_by_test_id("user-menu").locator("summary")).to_have_text("Ray One")


@pytest.mark.django_db(transaction=True)
def test_a_new_person_of_an_allowed_domain_joins_with_the_default_role(
    page: Page, live_server, world_a, alpha_sso
):
    _sign_in_at_provider(page, live_server, "newbie@alpha-sales.test")

    expect(page).to_have_url(f"{live_server.url}/alpha/")
    with tenant_context(world_a.tenant):
        member = Membership.objects.select_related("user").get(
            user__email="newbie@alpha-sales.test"
        )
    assert (member.role, member.is_active, member.user.get_full_name()) == (
        "rep",
        True,
        "Sam Single",
    )


@pytest.mark.django_db(transaction=True)
def test_an_email_outside_the_allowed_domains_is_refused_and_nothing_created(
    page: Page, live_server, world_a, alpha_sso
):
    users_before = User.objects.count()

    _sign_in_at_provider(page, live_server, "mallory@evil.test")

    expect(page.get_by_test_id("sso-refusal")).to_have_text(
        "mallory@evil.test may not sign in to Alpha Inc: only addresses at alpha-sales.test, "
        "alpha.test are allowed. No account was created."
    )
    assert User.objects.count() == users_before
    assert not User.objects.filter(email="mallory@evil.test").exists()


@pytest.mark.django_db(transaction=True)
def test_a_tenant_that_requires_sso_sends_password_sessions_to_it(live_server, world_a, alpha_sso):
    with tenant_context(world_a.tenant):
        config = sso.SsoConfig.objects.get()
        config.required = True
        config.save(update_fields=["required"])
    response = client_for(world_a.rep1.user).get("/alpha/")
    assert (response.status_code, response["location"]) == (302, "/alpha/integrations/sso/login/")


@pytest.mark.django_db(transaction=True)
def test_the_admin_configures_sso_on_the_page_and_a_wrong_issuer_is_named(
    live_server, world_a, provider
):
    page = "/alpha/integrations/sso/"
    assert client_for(world_a.rep1.user).get(page).status_code == 403
    client = client_for(world_a.admin.user)
    form = {
        "issuer": "http://127.0.0.1:9/nowhere",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "allowed_domains": "alpha.test",
        "default_role": "rep",
    }
    refused = client.post(page, form)
    assert refused.status_code == 400
    assert "No OpenID Connect discovery document at http://127.0.0.1:9/nowhere/" in (
        refused.content.decode()
    )

    saved = client.post(page, {**form, "issuer": provider, "required": "on"})

    assert (saved.status_code, saved["location"]) == (302, page)
    with tenant_context(world_a.tenant):
        config = sso.SsoConfig.objects.get()
    assert (config.issuer, config.allowed_domains, config.required) == (
        provider,
        ["alpha.test"],
        True,
    )
