"""Browser test of forecasting: a rep changes a deal's category and submits
a call; their manager sees it in the grid, adjusts and submits; the VP's
roll-up shows the submitted and the adjusted figure. Screenshots at 1400 and
390 px go to $SPM_SHOTS_DIR (default /tmp/shots-forecast/)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from spm.env import env_path
from spm.selectors import period_containing
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.pipeline.factories import DealFactory

pytestmark = pytest.mark.e2e
SHOTS = env_path("SPM_SHOTS_DIR", Path("/tmp/shots-forecast"))  # noqa: S108 - outside the repo


def shots(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1400, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def session(browser: Browser, live_server: Any, email: str) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    login(page, live_server, email, PASSWORD)
    return page


def test_rep_call_manager_adjustment_and_vp_rollup(browser, live_server, world_a):
    t, w = world_a.tenant, world_a
    with tenant_context(t):
        quarter = period_containing(t, day=timezone.localdate(), kind="quarter")
        DealFactory(
            tenant=t,
            owner=w.other_rep,
            amount=Decimal("40000.00"),
            stage="Closing",
            expected_close_date=quarter.end,
        )
        globex = DealFactory(
            tenant=t,
            owner=w.other_rep,
            amount=Decimal("30000.00"),
            stage="Qualification",
            name="Globex expansion",
            expected_close_date=quarter.end,
        )

    rep = session(browser, live_server, "rep3@alpha.test")
    rep.goto(f"{live_server.url}/alpha/kpis/forecast/")
    expect(rep.get_by_role("heading", name="Otto Three")).to_be_visible()
    rep.get_by_test_id(f"category-{globex.pk}").select_option("commit")
    expect(rep.locator(f"#deal-{globex.pk} option[value=commit]")).to_have_attribute("selected", "")
    rep.reload()
    expect(rep.get_by_test_id("member-call")).to_have_text("$70,000.00")
    rep.get_by_test_id("call-amount").fill("65000")
    rep.get_by_test_id("call-note").fill("Globex signs late")
    rep.get_by_test_id("call-submit").click()
    expect(rep.get_by_test_id("member-call")).to_have_text("$65,000.00")
    expect(rep.get_by_test_id("call-history")).to_contain_text("Globex signs late")
    shots(rep, "rep-forecast")

    manager = session(browser, live_server, "manager2@alpha.test")
    manager.goto(f"{live_server.url}/alpha/kpis/forecast/")
    expect(manager.get_by_test_id(f"call-{w.other_rep.pk}")).to_have_text("$65,000.00")
    manager.get_by_test_id("adjustment-input").fill("5000")
    manager.get_by_test_id("adjustment-note").fill("Initech upside")
    manager.get_by_test_id("submit-call").click()
    expect(manager.get_by_test_id("total-call")).to_have_text("$70,000.00")
    shots(manager, "manager-grid")

    vp = session(browser, live_server, "manager@alpha.test")
    vp.goto(f"{live_server.url}/alpha/kpis/forecast/")
    expect(vp.get_by_test_id(f"submitted-{w.other_manager.pk}")).to_contain_text("$65,000.00")
    expect(vp.get_by_test_id(f"call-{w.other_manager.pk}")).to_have_text("$70,000.00")
    shots(vp, "vp-rollup")
