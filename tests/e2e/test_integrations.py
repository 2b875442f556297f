"""An admin creates an API token in the browser, sees its key once, and the key works."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from spm.env import env_str
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.integrations.receiver import receiver
from tests.pipeline.factories import DealFactory, stage_named

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


def test_a_token_wins_a_deal_and_the_webhook_delivery_is_logged_200(
    live_server, page, world_a, worker
):
    """The admin creates a token and subscribes the local receiver to deal.won in
    the browser; the token moves a deal to Closed won over the API; the worker
    posts the signed message and the subscription's page logs the 200."""
    with tenant_context(world_a.tenant):
        deal = DealFactory(tenant=world_a.tenant, owner=world_a.rep1, external_id="crm-501")
        won = stage_named(world_a.tenant, "Closed won")
    login(page, live_server, world_a.admin.user.email, PASSWORD)
    page.goto(f"{live_server.url}/alpha/integrations/")
    page.fill("#id_name", "CRM sync")
    page.check("input[name=scopes][value='deals:write']")
    page.click("button:has-text('Create token')")
    key = page.locator("[data-testid=token-key]").inner_text()

    with receiver([200]) as endpoint:
        page.goto(f"{live_server.url}/alpha/integrations/webhooks/")
        expect(page.locator("nav.subnav a.active")).to_have_text("Webhooks")
        page.fill("#id_url", endpoint.url)
        page.fill("#id_description", "CRM mirror")
        page.check("input[name=event_types][value='deal.won']")
        page.click("button:has-text('Subscribe')")
        expect(page.locator("[data-testid=webhook-secret]")).to_contain_text("whsec_")
        secret = page.locator("[data-testid=webhook-secret]").inner_text()

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        url = f"/api/v1/alpha/deals/{deal.pk}/"
        etag = client.get(url)["ETag"]
        moved = client.patch(
            url,
            {"stage": won.pk, "close_date": "2027-02-12"},
            format="json",
            HTTP_IF_MATCH=etag,
        )
        assert moved.status_code == 200, moved.content
        (request,) = endpoint.wait_for(1)

    message = Webhook(secret).verify(request.body, request.headers)
    assert (message["type"], message["data"]["deals"][0]["external_id"]) == ("deal.won", "crm-501")
    delivery = page.locator("[data-testid=delivery]").first
    for _ in range(60):
        page.reload()
        if delivery.locator("[data-testid=delivery-code]").inner_text() == "200":
            break
        page.wait_for_timeout(500)
    expect(delivery.locator("[data-testid=delivery-code]")).to_have_text("200")
    expect(delivery).to_contain_text("deal.won")
    shot(page, "webhook-delivered")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    shot(page, "phone-webhook-delivered")
