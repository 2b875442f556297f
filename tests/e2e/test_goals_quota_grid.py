"""The quota grid in a real browser: allocate a team quota, edit a cell, see
the totals follow, see a refused value explained beside its cell; a rep
cannot open the grid."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from spm.env import env_path
from spm.models import FiscalPeriod, Role
from spm.services import membership_add
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

SHOTS = env_path("SPM_SHOTS_DIR", Path(tempfile.gettempdir()) / "shots-goals")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_manager_allocates_edits_and_sees_totals_and_rep_is_refused(live_server, page, world_a):
    t = world_a.tenant
    with tenant_context(t):
        rep3 = membership_add(
            t,
            email="rep9@alpha.test",
            first_name="Cy",
            last_name="Zulu",
            role=Role.REP,
            team=world_a.team,
            start_date=dt.date(2026, 1, 1),
            password=PASSWORD,
        )
        q2, q3 = (
            FiscalPeriod.objects.get(tenant=t, kind="quarter", fiscal_year=2027, number=n)
            for n in (2, 3)
        )
    rep1, rep2 = world_a.rep1, world_a.rep2

    login(page, live_server, world_a.manager.user.email, PASSWORD)
    page.goto(f"{live_server.url}/alpha/goals/quotas/?year=2027&view=quarter&measure=bookings")
    expect(page.locator("h1")).to_have_text("Quota grid · FY2027")
    expect(page.get_by_test_id("grand-total")).to_have_text("$0.00")

    # Allocate West's Q2 quota by hand-entered weights (docs/formulas.md section 1).
    page.get_by_test_id(f"allocate-{world_a.team.pk}").click()
    dialog = page.get_by_test_id("allocate-dialog")
    expect(dialog).to_be_visible()
    # The dialog came through htmx: its select listens for changes once htmx has
    # settled the swap (on a loaded machine that can trail the dialog showing).
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    # Choosing another period refreshes the dialog through htmx: wait for that
    # response (a page already loaded is "networkidle" at once, so waiting for
    # that state let the refresh land after the fields below were filled).
    with page.expect_response(lambda r: "/goals/quotas/allocate/" in r.url):
        dialog.locator("select[name=period]").select_option(str(q2.pk))
    expect(dialog.locator("select[name=period]")).to_have_value(str(q2.pk))
    dialog.locator("input[name=amount]").fill("1000000")
    dialog.get_by_label("Weights entered by hand", exact=True).check()
    dialog.locator(f"input[name=w_m{rep1.pk}]").fill("410000")
    dialog.locator(f"input[name=w_m{rep2.pk}]").fill("290000")
    dialog.locator(f"input[name=w_m{rep3.pk}]").fill("200000")
    dialog.locator("input[name=unit]").fill("1000")
    _shot(page, "allocation-dialog")
    dialog.get_by_test_id("allocate-submit").click()
    expect(page.locator(".msg-success")).to_contain_text(
        "Allocated 1,000,000.00 of West's FY2027 Q2 quota: Ray One 456,000.00, "
        "Rita Two 322,000.00, Cy Zulu 222,000.00."
    )
    expect(page.get_by_test_id(f"cell-m{rep1.pk}-{q2.pk}")).to_have_value("456,000.00")
    expect(page.get_by_test_id(f"cell-t{world_a.team.pk}-{q2.pk}")).to_have_value("1,000,000.00")
    expect(page.get_by_test_id("column-total-1")).to_have_text("$1,000,000.00")

    # Edit a cell: the row, column and grand totals follow without a reload.
    cell = page.get_by_test_id(f"cell-m{rep1.pk}-{q3.pk}")
    cell.fill("50000")
    cell.press("Tab")
    expect(page.get_by_test_id("column-total-2")).to_have_text("$50,000.00")
    expect(page.locator(f"#rt-m{rep1.pk}")).to_have_text("$506,000.00")
    expect(page.get_by_test_id("grand-total")).to_have_text("$1,050,000.00")
    expect(page.locator(f"#gap-{world_a.team.pk}-1")).to_have_text("$0.00")

    # A refused value: the message sits beside the cell, the totals stay.
    bad = page.get_by_test_id(f"cell-m{rep2.pk}-{q3.pk}")
    bad.fill("-5")
    bad.press("Tab")
    error = page.locator(f"#e-m{rep2.pk}-{q3.pk}")
    expect(error).to_have_text("A quota cannot be negative.")
    expect(page.get_by_test_id("grand-total")).to_have_text("$1,050,000.00")
    _shot(page, "quota-grid-validation-error")

    # A rep cannot open the grid.
    rep_context = page.context.browser.new_context(viewport={"width": 1280, "height": 800})
    rep_page = rep_context.new_page()
    login(rep_page, live_server, rep1.user.email, PASSWORD)
    response = rep_page.goto(f"{live_server.url}/alpha/goals/quotas/?year=2027")
    assert response.status == 403
    expect(rep_page.locator("body")).to_contain_text("This page needs one of these roles")
    rep_context.close()
