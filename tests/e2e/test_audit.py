"""The audit trail in the browser: an admin reaches it from Integrations and
finds a quota changed in the grid with its before and after; finance reaches
it from the menu on a 390 px phone, without sideways scroll."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from goals import services as goal_services
from spm.selectors import period_containing
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.e2e.test_layout import PHONE, WIDE, clipped_tables, page_width, shot

pytestmark = pytest.mark.e2e


def test_admin_and_finance_find_a_quota_change_with_before_and_after(page, live_server, world_a):
    t = world_a.tenant
    with tenant_context(t):
        quarter = period_containing(t, day=timezone.localdate(), kind="quarter")
        quota = goal_services.quota_set(
            t,
            actor=world_a.admin,
            period=quarter,
            membership=world_a.rep1,
            amount=Decimal("90000.00"),
        )
        goal_services.quota_set(
            t,
            actor=world_a.admin,
            period=quarter,
            membership=world_a.rep1,
            amount=Decimal("95000.00"),
        )
    base = f"{live_server.url}/alpha"

    page.set_viewport_size(WIDE)
    login(page, live_server, world_a.admin.user.email, PASSWORD)
    page.goto(f"{base}/integrations/")
    page.locator("nav.subnav").get_by_role("link", name="Audit trail").click()
    expect(page.locator("h1")).to_have_text("Audit trail")
    expect(page.locator("nav.subnav a.active")).to_have_text("Audit trail")
    expect(page.locator("#mainnav a.active")).to_have_text("Integrations")
    page.select_option("select[name=object_type]", "goals.quota")
    page.fill("input[name=object_id]", str(quota.pk))
    page.click("button:has-text('Filter')")
    rows = page.get_by_test_id("audit-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("amount: 90000.00 → 95000.00")
    expect(rows.nth(1)).to_contain_text("Created Quota")
    shot(page, "wide-admin-audit")

    page.context.clear_cookies()
    page.set_viewport_size(PHONE)
    login(page, live_server, world_a.finance.user.email, PASSWORD)
    page.goto(f"{base}/")
    page.get_by_role("button", name="Menu").click()
    page.locator("#mainnav").get_by_role("link", name="Audit trail").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_have_text("Audit trail")
    expect(page.locator("nav.subnav a")).to_have_text(["Audit trail"])
    expect(page.get_by_test_id("audit-row").first).to_be_visible()
    assert page_width(page) == 390
    assert clipped_tables(page) == []
    shot(page, "phone-finance-audit")
