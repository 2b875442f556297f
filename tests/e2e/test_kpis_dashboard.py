"""Browser tests of the KPI pages: a rep sees the dashboard with charts; a deal
won through the API shows in the rep's bookings and attainment within seconds
(real Celery worker on the real Redis broker). Screenshots of every page go to
$SPM_SHOTS_DIR (default /tmp/shots-kpis/) for a human to look at."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import Page, expect

from goals import services as goal_services
from kpis import services as kpi_services
from pipeline.models import Stage
from spm.env import env_path
from spm.selectors import period_containing
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.kpis.factories import lost_deal, open_deal, won_deal

pytestmark = pytest.mark.e2e
SHOTS = env_path("SPM_SHOTS_DIR", Path("/tmp/shots-kpis"))  # noqa: S108 - outside the repo


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def quarter_data(world_a):
    """This quarter: rep1 has a 100,000.00 quota, one won and one lost deal, and
    an open 30,000.00 deal in Proposal; other reps have figures too."""
    t, w = world_a.tenant, world_a
    today = timezone.localdate()
    with tenant_context(t):
        quarter = period_containing(t, day=today, kind="quarter")
        start = quarter.start
        for member, amount in ((w.rep1, "100000.00"), (w.other_rep, "80000.00")):
            goal_services.quota_set(
                t, actor=w.admin, period=quarter, membership=member, amount=Decimal(amount)
            )
        won_deal(t, w.rep1, "20000.00", start, start + dt.timedelta(days=3))
        lost_deal(t, w.rep1, "15000.00", start, start + dt.timedelta(days=5))
        deal = open_deal(t, w.rep1, "30000.00", start, today, name="Initech platform")
        won_deal(t, w.other_rep, "64000.00", start, start + dt.timedelta(days=9))
        open_deal(t, w.other_rep, "18000.00", start, today, stage="Needs analysis")
    kpi_services.kpi_recompute_full(t)
    return {"deal": deal, "quarter": quarter}


def _tile(page: Page, key: str):
    return page.locator(f'[data-testid="rep-kpis"] dd[data-kpi="{key}"]')


def test_rep_sees_dashboard_and_a_deal_won_through_the_api_shows_within_seconds(
    page, live_server, world_a, quarter_data, worker
):
    login(page, live_server, "rep1@alpha.test", PASSWORD)
    page.goto(f"{live_server.url}/alpha/kpis/")
    expect(page.locator("h1")).to_have_text("Ray One")
    expect(_tile(page, "bookings")).to_have_text("$20,000.00")
    expect(_tile(page, "attainment")).to_have_text("20.00%")
    for chart in ("gauge-chart", "trend-chart", "pipeline-chart"):
        expect(page.get_by_test_id(chart)).to_have_attribute("data-drawn", "1")
        expect(page.get_by_test_id(chart).locator(".main-svg").first).to_be_visible()
    shot(page, "rep-dashboard-before")

    # The deal is won through the API with a token, as a CRM would.
    api = f"{live_server.url}/api/v1/"
    token = requests.post(
        api + "auth/token/", timeout=10, json={"username": "rep1@alpha.test", "password": PASSWORD}
    ).json()["token"]
    with tenant_context(world_a.tenant):
        won = Stage.objects.get(tenant=world_a.tenant, name="Closed won")
    moved = requests.post(
        f"{api}alpha/deals/{quarter_data['deal'].pk}/move/",
        json={"stage": won.pk},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert moved.status_code == 200, moved.text

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        page.reload()
        if _tile(page, "bookings").inner_text() == "$50,000.00":
            break
        time.sleep(0.5)
    expect(_tile(page, "bookings")).to_have_text("$50,000.00")
    expect(_tile(page, "attainment")).to_have_text("50.00%")
    expect(_tile(page, "win-rate")).to_have_text("66.67%")
    shot(page, "rep-dashboard-after")


def test_manager_overview_leaderboard_and_runs_pages(page, live_server, world_a, quarter_data):
    login(page, live_server, "manager@alpha.test", PASSWORD)
    page.goto(f"{live_server.url}/alpha/kpis/")
    expect(page.locator("h1")).to_have_text("Sales")
    expect(page.get_by_test_id("attainment-chart")).to_have_attribute("data-drawn", "1")
    expect(page.get_by_test_id("subtree-table")).to_contain_text("Ray One")
    shot(page, "team-dashboard")
    page.get_by_role("link", name="Ray One").first.click()
    expect(page.locator("h1")).to_have_text("Ray One")

    page.goto(f"{live_server.url}/alpha/kpis/leaderboards/?kpi=bookings")
    rows = page.get_by_test_id("leaderboard").locator("tbody tr")
    expect(rows.nth(0)).to_contain_text("Otto Three")
    expect(rows.nth(0)).to_contain_text("$64,000.00")
    shot(page, "leaderboard")

    page.context.clear_cookies()
    login(page, live_server, "admin@alpha.test", PASSWORD)
    page.goto(f"{live_server.url}/alpha/kpis/")
    expect(page.locator("h1")).to_have_text("Company overview")
    expect(page.get_by_test_id("teams-chart")).to_have_attribute("data-drawn", "1")
    expect(page.get_by_test_id("teams-table")).to_contain_text("$84,000.00")
    shot(page, "overview")
    page.goto(f"{live_server.url}/alpha/kpis/runs/")
    expect(page.get_by_test_id("runs-table")).to_contain_text("Recompute all KPIs")
    shot(page, "runs")
    page.goto(f"{live_server.url}/alpha/kpis/settings/")
    page.fill("#id_key", "bookings_per_activity")
    page.fill("#id_name", "Bookings per activity")
    page.fill("#id_formula", "bookings / (activities")
    page.get_by_test_id("custom-form").get_by_role("button").click()
    expect(page.get_by_test_id("custom-form")).to_contain_text("Syntax error")
    shot(page, "settings")
