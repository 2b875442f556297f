"""An admin creates an API token in the browser, sees its key once, and the key works."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from spm.env import env_str
from tests.conftest import PASSWORD
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e
SHOTS = env_str("SPM_SHOTS_DIR")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_admin_creates_a_token_sees_it_once_and_revokes_it(live_server, page, world_a):
    login(page, live_server, world_a.admin.user.email, PASSWORD)
    page.goto(f"{live_server.url}/alpha/integrations/")
    expect(page.locator("h1")).to_have_text("API tokens")
    expect(page.locator("nav.subnav a.active")).to_have_text("API tokens")

    page.fill("#id_name", "CRM sync")
    page.check("input[name=scopes][value='deals:write']")
    page.check("input[name=scopes][value='reports:read']")
    page.select_option("#id_expires_in_days", label="30 days")
    page.click("button:has-text('Create token')")

    key = page.locator("[data-testid=token-key]").inner_text()
    assert key.startswith(f"spm_{world_a.tenant.pk}_")
    row = page.locator("[data-testid=token-table] tbody tr", has_text="CRM sync")
    expect(row).to_contain_text("deals:write")
    expect(row).to_contain_text("never")
    shot(page, "api-tokens")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/alpha/deals/").status_code == 200

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/alpha/integrations/")
    expect(page.locator("[data-testid=token-key]")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    shot(page, "phone-api-tokens")
    row.locator("button:has-text('Revoke')").click()
    expect(page.locator(".msg-success")).to_have_text(
        "Token “CRM sync” revoked: it no longer works."
    )
    expect(row).to_contain_text("Revoked")
    assert client.get("/api/v1/alpha/deals/").status_code == 401
