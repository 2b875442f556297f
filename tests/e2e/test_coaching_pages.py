"""Coaching in a real browser: the manager opens the pre-filled agenda, adds a
private note and an action item; the rep sees the agenda and the action item
but not the private note; both complete a review; the calibration lists it.
Screenshots at 1400 and 390 px."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import Page, expect

from coaching import services
from coaching.models import Meeting, MeetingStatus
from pipeline.services import tenant_today
from spm.env import env_path
from spm.selectors import period_containing
from spm.tenancy.context import tenant_context
from tests.coaching.factories import at
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.pipeline.factories import DealFactory

pytestmark = pytest.mark.e2e

SHOTS = env_path("SPM_SHOTS_DIR", Path(tempfile.gettempdir()) / "shots-coaching")
WIDE, PHONE = {"width": 1400, "height": 900}, {"width": 390, "height": 844}


def _shots(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1400", WIDE), ("390", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(WIDE)


def _history(world):
    """Today's 1:1 of Mia with Ray, after one held a fortnight ago; Ray has a
    deal stalled since 40 days and an action item overdue since yesterday."""
    t = world.tenant
    today = tenant_today(t)
    with tenant_context(t):
        with time_machine.travel(at(today - dt.timedelta(days=40)), tick=False):
            deal = DealFactory(
                tenant=t,
                owner=world.rep1,
                name="Globex renewal",
                expected_close_date=today + dt.timedelta(days=30),
            )
        series = services.series_create(
            t,
            actor=world.manager,
            member=world.rep1,
            first_at=at(today - dt.timedelta(days=14)),
            every_days=14,
        )
        first = Meeting.objects.get(series=series)
        services.action_create(
            t,
            actor=world.manager,
            member=world.rep1,
            meeting=first,
            title="Send the Globex proposal",
            due_on=today - dt.timedelta(days=1),
            deal=deal,
        )
        services.meeting_hold(t, actor=world.manager, meeting=first)
        upcoming = Meeting.objects.get(series=series, status=MeetingStatus.SCHEDULED)
        quarter = period_containing(t, day=today, kind="quarter")
        cycle = services.cycle_open(
            t,
            actor=world.admin,
            name="Quarter review",
            period=quarter,
            questions=[
                {"key": "results", "text": "How did the quarter go?", "kind": "rating"},
                {"key": "wins", "text": "What went well?", "kind": "text"},
            ],
        )
    return upcoming, cycle


def _as(browser, live_server, email: str) -> Page:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    page.set_default_timeout(30_000)
    login(page, live_server, email, PASSWORD)
    return page


def test_manager_and_rep_coach_from_the_agenda_and_complete_a_review(
    live_server, browser, page, world_a
):
    upcoming, cycle = _history(world_a)
    slug = world_a.tenant.slug
    login(page, live_server, "manager@alpha.test", PASSWORD)
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/{slug}/coaching/")
    page.get_by_test_id("upcoming").get_by_role("link").first.click()
    agenda = page.get_by_test_id("agenda")
    expect(agenda.get_by_role("link", name="Deal Globex renewal stalled")).to_be_visible()
    overdue = agenda.get_by_role("link", name="Overdue action: Send the Globex proposal")
    expect(overdue).to_be_visible()
    page.get_by_label("Private note").fill("Ready for a bigger territory")
    page.get_by_role("button", name="Add private note").click()
    expect(page.get_by_test_id("private-notes")).to_contain_text("Ready for a bigger territory")
    actions = page.get_by_test_id("actions")
    actions.get_by_label("Action").fill("Book the Globex demo")
    actions.get_by_label("Due").fill(
        (tenant_today(world_a.tenant) + dt.timedelta(days=7)).isoformat()
    )
    page.get_by_role("button", name="Add action item").click()
    expect(page.get_by_test_id("actions")).to_contain_text("Book the Globex demo")
    _shots(page, "meeting-manager")

    rep = _as(browser, live_server, "rep1@alpha.test")
    rep.goto(f"{live_server.url}/{slug}/coaching/meetings/{upcoming.pk}/")
    expect(rep.get_by_test_id("agenda")).to_contain_text("Deal Globex renewal stalled")
    expect(rep.get_by_test_id("actions")).to_contain_text("Book the Globex demo")
    expect(rep.get_by_test_id("private-notes")).to_have_count(0)
    expect(rep.locator("body")).not_to_contain_text("Ready for a bigger territory")
    _shots(rep, "meeting-rep")

    with tenant_context(world_a.tenant):
        review = cycle.reviews.get(member=world_a.rep1)
    rep.goto(f"{live_server.url}/{slug}/coaching/reviews/{review.pk}/")
    form = rep.get_by_test_id("self-form")
    form.get_by_label("How did the quarter go?").select_option("4")
    form.get_by_label("What went well?").fill("Closed the Globex renewal")
    form.get_by_role("button", name="Submit self review").click()
    expect(rep.get_by_test_id("review-answers")).to_contain_text("Closed the Globex renewal")

    page.goto(f"{live_server.url}/{slug}/coaching/reviews/{review.pk}/")
    expect(page.get_by_test_id("review-answers")).to_contain_text(
        "submitted; shown once both are in"
    )
    form = page.get_by_test_id("manager-form")
    form.get_by_label("How did the quarter go?").select_option("3")
    form.get_by_label("What went well?").fill("Steady pipeline work")
    form.get_by_label("Proposed overall rating").select_option("4")
    form.get_by_role("button", name="Submit manager review").click()
    expect(page.get_by_test_id("review-answers")).to_contain_text("Closed the Globex renewal")
    expect(page.get_by_test_id("overall-rating")).to_have_text("4 of 5")
    _shots(page, "review-manager")

    page.goto(f"{live_server.url}/{slug}/coaching/cycles/{cycle.pk}/calibration/")
    row = page.get_by_test_id("calibration").get_by_role("row", name="Ray One")
    expect(row).to_contain_text("Mia Manager")
    expect(row).to_contain_text("4")
    _shots(page, "calibration")
