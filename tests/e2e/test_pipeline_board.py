"""Browser tests of the pipeline pages: drag a deal on the board and see its
history; the import page reports bad rows. Screenshots of every page go to
$SPM_SHOTS_DIR (default /tmp/shots-pipeline/) for a human to look at."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from playwright.sync_api import Page, expect

from pipeline.models import Deal, StageChange
from spm.celery import app as celery_app
from spm.env import env_path
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.pipeline.factories import DealFactory, LeadFactory
from tests.pipeline.test_import import BAD_FILE

pytestmark = pytest.mark.e2e
SHOTS = env_path("SPM_SHOTS_DIR", Path("/tmp/shots-pipeline"))  # noqa: S108 - outside the repo


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def board_deals(world_a):
    t = world_a.tenant
    today = timezone.localdate()
    with tenant_context(t):
        deals = {
            "acme": DealFactory(
                tenant=t,
                owner=world_a.rep1,
                name="Acme platform",
                amount=Decimal("48000.00"),
                stage="Needs analysis",
                expected_close_date=today + dt.timedelta(days=10),
            ),
            "globex": DealFactory(
                tenant=t,
                owner=world_a.rep1,
                name="Globex analytics",
                amount=Decimal("12500.00"),
                stage="Qualification",
                expected_close_date=today + dt.timedelta(days=5),
                splits=[(world_a.rep1, Decimal("70")), (world_a.rep2, Decimal("30"))],
            ),
            "initech": DealFactory(
                tenant=t,
                owner=world_a.rep2,
                name="Initech renewal",
                amount=Decimal("7300.00"),
                stage="Closing",
                deal_type="renewal",
                expected_close_date=today + dt.timedelta(days=3),
            ),
        }
        for stage, count in (("awareness", 12), ("interest", 7), ("decision", 4), ("action", 2)):
            for _ in range(count):
                LeadFactory(
                    tenant=t,
                    owner=world_a.rep1,
                    stage=stage,
                    awareness_on=today - dt.timedelta(days=3),
                )
    return deals


def test_dragging_a_deal_to_another_stage_moves_it_and_shows_in_its_history(
    page, live_server, world_a, board_deals
):
    login(page, live_server, "rep1@alpha.test", PASSWORD)
    page.goto(f"{live_server.url}/alpha/pipeline/")
    card = page.locator(".deal-card", has_text="Acme platform")
    target = page.locator('.board-col[data-stage-name="Proposal and negotiation"]')
    expect(card).to_be_visible()
    shot(page, "board")
    card.drag_to(target.locator(".board-cards"))
    moved = target.locator(".deal-card", has_text="Acme platform")
    expect(moved).to_be_visible()
    expect(target.locator('[data-testid="total"]')).to_have_text("$48,000")
    expect(target.locator('[data-testid="weighted"]')).to_have_text("$28,800")
    with tenant_context(world_a.tenant):
        deal = Deal.objects.get(pk=board_deals["acme"].pk)
        assert deal.stage.name == "Proposal and negotiation"
        assert list(
            StageChange.objects.filter(deal=deal).values_list("to_stage__name", "source")
        ) == [("Needs analysis", "page"), ("Proposal and negotiation", "board")]
    moved.locator("a.deal-name").click()
    timeline = page.locator('[data-testid="timeline"] li')
    expect(timeline).to_have_count(2)
    expect(timeline.nth(1)).to_contain_text("Proposal and negotiation")
    expect(timeline.nth(1)).to_contain_text("from Needs analysis")
    expect(timeline.nth(1)).to_contain_text("Ray One · Board")
    expect(page.locator('[data-testid="deal-stage"]')).to_have_text("Proposal and negotiation")
    shot(page, "deal-detail")


def test_pages_render_for_a_manager(page, live_server, world_a, board_deals):
    login(page, live_server, "manager@alpha.test", PASSWORD)
    page.goto(f"{live_server.url}/alpha/pipeline/deals/")
    rows = page.locator('[data-testid="deal-table"] tbody tr')
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Initech renewal")
    shot(page, "deal-list")
    page.goto(f"{live_server.url}/alpha/pipeline/deals/{board_deals['globex'].pk}/")
    expect(page.locator('[data-testid="splits"] tbody tr')).to_have_count(2)
    shot(page, "deal-detail-splits")
    page.goto(f"{live_server.url}/alpha/pipeline/funnel/")
    expect(page.locator('[data-testid="funnel-chart"] .main-svg').first).to_be_visible()
    expect(page.locator('[data-testid="funnel-table"] tbody tr').first).to_contain_text("25")
    shot(page, "funnel")


def test_import_page_reports_bad_rows_by_line(page, live_server, world_a, tmp_path):
    login(page, live_server, "admin@alpha.test", PASSWORD)
    page.goto(f"{live_server.url}/alpha/pipeline/import/")
    path = tmp_path / "deals.csv"
    path.write_text(BAD_FILE)
    page.select_option("#id_kind", "deals")
    page.set_input_files("#id_file", str(path))
    page.click("text=Upload and map columns")
    expect(page.locator("#id_map_owner")).to_have_value("Opportunity Owner")
    shot(page, "import-mapping")
    # A real worker runs the queued import; the page polls its progress.
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        page.click("text=Validate and import")
        expect(page.locator('[data-testid="import-status"]')).to_contain_text(
            "2 of 4 rows have errors; nothing was imported.", timeout=20_000
        )
    status = page.locator('[data-testid="import-status"]')
    expect(status).to_contain_text("2 of 4 rows have errors; nothing was imported.", timeout=10_000)
    errors = page.locator('[data-testid="import-errors"] tbody tr')
    expect(errors).to_have_count(4)
    expect(errors.first).to_contain_text("3")
    expect(errors.first).to_contain_text("'abc' is not a valid amount.")
    shot(page, "import-errors")
    page.goto(f"{live_server.url}/alpha/pipeline/stages/")
    shot(page, "stages")
