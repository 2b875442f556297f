"""Every role's pages at 1400 px and on a 390 px phone: a menu button on the
phone, no page-level sideways scroll, wide tables scrolling inside their card
(and not clipped at 1400 px), one sub-navigation with the current page marked,
money with its currency, empty charts saying so, the start page's figures and
flags. One login per role; screenshots go to $SPM_SHOTS_DIR (default
/tmp/shots-layout/) for a human to look at."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import Page, expect

from goals import services as goal_services
from kpis import services as kpi_services
from pipeline.models import StageChange
from spm.env import env_path
from spm.selectors import period_containing
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.kpis.factories import open_deal, won_deal

pytestmark = pytest.mark.e2e
SHOTS = env_path("SPM_SHOTS_DIR", Path("/tmp/shots-layout"))  # noqa: S108 - outside the repo
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1400, "height": 900}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def clipped_tables(page: Page) -> list[str]:
    """Tables wider than their card that the card does not let scroll."""
    return page.evaluate(
        """() => [...document.querySelectorAll('table')].filter(t => {
            const box = t.closest('.card, .table-scroll');
            if (!box) return t.scrollWidth > document.documentElement.clientWidth;
            const style = getComputedStyle(box);
            return t.scrollWidth > box.clientWidth + 1 && !/auto|scroll/.test(style.overflowX);
        }).map(t => t.dataset.testid || t.className)"""
    )


def wide_tables(page: Page) -> list[str]:
    """Tables whose last columns sit beyond their card's visible width."""
    return page.evaluate(
        """() => [...document.querySelectorAll('table')].filter(t => {
            const box = t.closest('.card, .table-scroll');
            return box && box.scrollWidth > box.clientWidth + 1;
        }).map(t => t.dataset.testid || t.className)"""
    )


@pytest.fixture
def quarter(world_a):
    """This quarter: rep1 has a 100,000.00 quota, 20,000.00 won, one open deal
    past its expected close, one stalled; other_rep has figures too."""
    t, w = world_a.tenant, world_a
    today = timezone.localdate()
    with tenant_context(t):
        quarter = period_containing(t, day=today, kind="quarter")
        start = quarter.start
        goal_services.quota_set(
            t, actor=w.admin, period=quarter, membership=w.rep1, amount=Decimal("100000.00")
        )
        goal_services.quota_set(
            t, actor=w.admin, period=quarter, membership=w.other_rep, amount=Decimal("80000.00")
        )
        won_deal(t, w.rep1, "20000.00", start, start + dt.timedelta(days=3))
        won_deal(t, w.other_rep, "64000.00", start, start + dt.timedelta(days=9))
        open_deal(t, w.rep1, "30000.00", start, today - dt.timedelta(days=2), name="Late deal")
        stuck = open_deal(
            t, w.rep1, "12000.00", start, today + dt.timedelta(days=20), name="Stuck deal"
        )
        StageChange.objects.filter(tenant=t, deal=stuck).update(
            changed_at=timezone.now() - dt.timedelta(days=45)
        )
    kpi_services.kpi_recompute_full(t)
    return quarter


def test_rep_on_a_phone_has_a_menu_no_sideways_scroll_and_a_real_start_page(
    page, live_server, world_a, quarter
):
    page.set_viewport_size(PHONE)
    login(page, live_server, "rep1@alpha.test", PASSWORD)
    base = f"{live_server.url}/alpha"
    page.goto(f"{base}/")
    figures = page.get_by_test_id("start-figures")
    expect(figures.get_by_test_id("fig-bookings")).to_have_text("$20,000.00")
    expect(figures.get_by_test_id("fig-quota")).to_have_text("$100,000.00")
    expect(figures.get_by_test_id("fig-attainment")).to_have_text("20.00%")
    expect(figures.get_by_test_id("fig-gap")).to_have_text("$80,000.00")
    attention = page.get_by_test_id("attention")
    expect(attention.locator("tbody tr")).to_have_count(2)
    expect(attention.locator("tbody tr").nth(0)).to_contain_text("Late deal")
    expect(attention.locator("tbody tr").nth(0)).to_contain_text("Past close date")
    expect(attention.locator("tbody tr").nth(1)).to_contain_text("No move since")
    nav = page.locator("#mainnav")
    expect(nav).to_be_hidden()
    shot(page, "phone-rep-home")
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Pipeline")).to_be_visible()
    shot(page, "phone-rep-menu")
    for path, name in (
        ("/kpis/", "dashboard"),
        ("/pipeline/", "board"),
        ("/pipeline/deals/", "deals"),
        ("/kpis/leaderboards/", "leaderboards"),
        ("/goals/", "goals"),
    ):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert (name, page_width(page)) == (name, 390)
        assert (name, clipped_tables(page)) == (name, [])
        expect(page.locator(".subnav a.active")).to_have_count(1)
        shot(page, f"phone-rep-{name}")
    page.goto(f"{base}/pipeline/")
    card = page.locator(".deal-card", has_text="Late deal")
    expect(card.get_by_test_id("flag-overdue")).to_have_text("Past close date")
    stuck = page.locator(".deal-card", has_text="Stuck deal")
    expect(stuck.get_by_test_id("flag-stalled")).to_be_visible()
    expect(page.get_by_test_id("board-index")).to_contain_text("Closed won")


def test_manager_and_admin_at_1400_tables_fit_charts_say_when_empty(
    page, live_server, world_a, quarter
):
    page.set_viewport_size(WIDE)
    login(page, live_server, "manager@alpha.test", PASSWORD)
    base = f"{live_server.url}/alpha"
    page.goto(f"{base}/kpis/")
    expect(page.locator(".subnav a.active")).to_have_text("Team dashboard")
    expect(page.get_by_test_id("team-kpis")).to_contain_text("$84,000.00")
    expect(page.get_by_test_id("subtree-table")).to_contain_text("Ray One")
    expect(page.get_by_test_id("subtree-table")).not_to_contain_text("Mia Manager")
    assert wide_tables(page) == []
    shot(page, "wide-manager-team")
    # A quarter with nothing in it: every chart says so instead of drawing axes.
    page.locator('[data-testid="period-picker"] a[rel="next"]').click()
    for chart in ("attainment-chart", "trend-chart", "funnel-chart"):
        expect(page.get_by_test_id(chart)).to_have_attribute("data-drawn", "empty")
    expect(page.get_by_test_id("funnel-chart")).to_contain_text("No data for this period")
    shot(page, "wide-manager-team-empty")
    page.goto(f"{base}/goals/quotas/")
    expect(page.locator('select[name="view"]')).to_have_value("quarter")
    page.goto(f"{base}/goals/quotas/?view=month")
    name_cell = page.locator(".quota-grid tbody th[scope=row]").first
    assert name_cell.evaluate("e => getComputedStyle(e).position") == "sticky"
    shot(page, "wide-manager-grid-months")
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/kpis/")
    page.wait_for_load_state("networkidle")
    assert page_width(page) == 390
    assert clipped_tables(page) == []
    shot(page, "phone-manager-team")

    page.context.clear_cookies()
    page.set_viewport_size(WIDE)
    login(page, live_server, "admin@alpha.test", PASSWORD)
    page.goto(f"{base}/")
    expect(page.get_by_test_id("start-figures").get_by_test_id("fig-bookings")).to_have_text(
        "$84,000.00"
    )
    # Rita joins in February: not a rep of this quarter yet.
    expect(page.get_by_test_id("without-quota")).to_contain_text(
        "Every active rep has a quota this quarter."
    )
    expect(page.get_by_test_id("without-team")).to_contain_text("Fin Ance")
    shot(page, "wide-admin-home")
    page.goto(f"{base}/kpis/")
    expect(page.locator("h1")).to_have_text("Company overview")
    expect(page.locator(".subnav a")).to_have_text(
        [
            "Company overview",
            "Forecast",
            "Forecast accuracy",
            "Leaderboards",
            "Recompute runs",
            "KPI settings",
        ]
    )
    assert wide_tables(page) == []
    shot(page, "wide-admin-overview")
    page.goto(f"{base}/kpis/settings/")
    expect(page.locator(".subnav a.active")).to_have_text("KPI settings")
    expect(page.get_by_test_id("custom-form").locator(".field")).to_have_count(6)
    shot(page, "wide-admin-kpi-settings")
    icon = requests.get(f"{live_server.url}/favicon.ico", timeout=10)
    assert (icon.status_code, icon.headers["Content-Type"]) == (200, "image/svg+xml")
    assert icon.history[0].status_code == 301
