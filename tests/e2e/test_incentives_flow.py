"""The commission flow in a browser: an admin builds a tiered plan in the plan
builder and sees its payout curve, assigns it and runs the quarter (progress
bar, real Celery worker); finance approves and publishes; the rep reads each deal's line
with its explanation; a deal cancelled after the quarter closed comes back as
an adjustment in the next. Screenshots at 1400 and 390 px go to
$SPM_SHOTS_DIR (default /tmp/shots-incentives/) for a human to look at."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import Browser, Page, expect

from goals import services as goal_services
from pipeline import services as pipeline_services
from pipeline.models import Deal
from spm.celery import app as celery_app
from spm.env import env_path
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.e2e
SHOTS = env_path("SPM_SHOTS_DIR", Path("/tmp/shots-incentives"))  # noqa: S108 - outside the repo
WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def shots(page: Page, name: str) -> None:
    """The page at 1400 px and on a 390 px phone, which never scrolls sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("wide", WIDE), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name} scrolls sideways at {size['width']} px"
    page.set_viewport_size(WIDE)


def as_user(browser: Browser, live_server, email: str) -> Page:
    page = browser.new_context(viewport=WIDE).new_page()
    page.set_default_timeout(30_000)
    login(page, live_server, email, PASSWORD)
    return page


@pytest.fixture
def quarter(world_a):
    """rep1: a 100,000.00 Q1 2027 quota and three won deals, 130,000.00 in all."""
    t, w = world_a.tenant, world_a
    with tenant_context(t):
        q1 = FiscalPeriod.objects.get(tenant=t, kind="quarter", start=dt.date(2027, 1, 1))
        goal_services.quota_set(
            t, actor=w.admin, period=q1, membership=w.rep1, amount=Decimal("100000.00")
        )
        for name, amount, day in (
            ("Acme platform", "60000.00", dt.date(2027, 1, 20)),
            ("Globex analytics", "50000.00", dt.date(2027, 2, 10)),
            ("Initech renewal", "20000.00", dt.date(2027, 3, 5)),
        ):
            DealFactory(
                tenant=t,
                owner=w.rep1,
                name=name,
                amount=Decimal(amount),
                stage=stage_named(t, "Closed won"),
                expected_close_date=day,
                close_date=day,
            )
    return q1


def run_period(page: Page, live_server, period: FiscalPeriod) -> None:
    """Start a preview of ``period`` and watch its progress bar until it is done."""
    page.goto(f"{live_server.url}/alpha/incentives/runs/")
    page.select_option("#id_period", str(period.pk))
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        page.click("text=Start a preview run")
        expect(page.locator('[data-testid="run-status"] .progress')).to_be_visible()
        expect(page.locator('[data-testid="comparison"]')).to_be_visible(timeout=30_000)


def test_build_assign_run_publish_and_read_the_statement(
    page, browser, live_server, world_a, quarter, transactional_db
):
    login(page, live_server, "admin@alpha.test", PASSWORD)
    page.goto(f"{live_server.url}/alpha/incentives/")
    expect(page.locator(".mainnav a.active")).to_have_text("Commission")
    page.click(".subnav >> text=Plans")
    page.click("text=New plan")
    page.fill("#id_name", "AE tiers")
    page.fill("#id_effective_from", "2027-01-01")
    page.click("text=Create the plan")
    page.click('[data-testid="components"] >> text=Commission on bookings')
    for row, (low, high, rate) in enumerate(
        (("0", "50", "2"), ("50", "100", "8"), ("100", "", "12"))
    ):
        page.fill(f"#id_band-{row}-lower", low)
        page.fill(f"#id_band-{row}-upper", high)
        page.fill(f"#id_band-{row}-rate", rate)
    # The live what-if redraws the curve and the preview on the unsaved bands.
    expect(page.locator('[data-testid="preview-total"]')).to_have_text("$8,600.00")
    expect(page.locator('#whatif [data-figure="fig-curve"]')).to_have_attribute("data-drawn", "1")
    shots(page, "component-editor")
    page.click('[data-testid="save-component"]')
    expect(page.locator(".msg-success")).to_contain_text("Saved AE tiers v1.")
    expect(page.locator('[data-testid="curve-chart"]').first).to_have_attribute("data-drawn", "1")
    shots(page, "version")

    page.click(".subnav >> text=Assignments")
    page.select_option("#id_version", label="AE tiers v1")
    page.select_option("#id_membership", label="Ray One")
    page.fill("#id_start_date", "2027-01-01")
    page.click('[data-testid="assign"] button[type=submit]')
    expect(page.locator(".msg-success")).to_contain_text("1 member put on AE tiers v1")
    run_period(page, live_server, quarter)
    expect(page.locator('[data-testid="run-total"]')).to_have_text("$8,600.00")
    shots(page, "run")

    # Publishing waits for finance's approval: the admin asks, finance approves.
    page.click('[data-testid="request-approval"]')
    expect(page.locator('[data-testid="approval-state"]')).to_contain_text("waiting for finance")
    finance = as_user(browser, live_server, "finance@alpha.test")
    finance.goto(page.url)
    finance.click('[data-testid="run-approval"] [data-testid="approve"]')
    expect(finance.locator('[data-testid="approval-state"]')).to_contain_text("Approved")
    finance.click('[data-testid="publish"]')
    expect(finance.locator(".msg-success")).to_contain_text(
        "Published: the statements of FY2027 Q1 are final."
    )
    finance.goto(f"{live_server.url}/alpha/incentives/statements/?period={quarter.pk}")
    expect(finance.locator('[data-testid="period-total"]')).to_have_text("$8,600.00")
    shots(finance, "statements-period")

    rep = as_user(browser, live_server, "rep1@alpha.test")
    rep.goto(f"{live_server.url}/alpha/incentives/statements/")
    rep.click("text=FY2027 Q1")
    lines = rep.locator('[data-testid="statement-lines"] tbody tr')
    expect(lines).to_have_count(5)
    expect(lines.nth(0)).to_contain_text("Acme platform: 50,000.00 x 2% in band 0-50%")
    expect(lines.nth(4)).to_contain_text("Initech renewal: 20,000.00 x 12% in band 100%+")
    expect(lines.nth(4)).to_contain_text("$2,400.00")
    expect(rep.locator('[data-testid="statement-total"]')).to_have_text("$8,600.00")
    shots(rep, "statement")

    t = world_a.tenant
    with tenant_context(t):
        FiscalPeriod.objects.filter(pk=quarter.pk).update(is_closed=True)
        late = Deal.objects.get(tenant=t, name="Initech renewal")
        pipeline_services.deal_move(
            t, deal=late, actor=None, stage=stage_named(t, "Closed lost"), lost_reason="cancelled"
        )
        q2 = FiscalPeriod.objects.get(tenant=t, kind="quarter", start=dt.date(2027, 4, 1))
    run_period(finance, live_server, q2)
    # The tenant's only finance member asks and approves their own request.
    finance.click('[data-testid="request-approval"]')
    finance.click('[data-testid="run-approval"] [data-testid="approve"]')
    finance.click('[data-testid="publish"]')
    rep.goto(f"{live_server.url}/alpha/incentives/statements/")
    rep.click("text=FY2027 Q2")
    expect(rep.locator('[data-testid="statement-lines"] tbody tr')).to_have_count(1)
    expect(rep.locator('[data-testid="statement-lines"]')).to_contain_text(
        "adjustment to FY2027 Q1"
    )
    expect(rep.locator('[data-testid="statement-total"]')).to_have_text("-$2,400.00")
    shots(rep, "statement-adjustment")
