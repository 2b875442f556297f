"""Goals, alignment and objectives in a real browser: a vague goal is refused
naming each missing SMART property; the alignment tree; scoring objectives."""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from goals import services
from spm.env import env_path
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

SHOTS = env_path("SPM_SHOTS_DIR", Path(tempfile.gettempdir()) / "shots-goals")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_vague_goal_is_refused_then_a_smart_one_is_proposed(live_server, page, world_a):
    with tenant_context(world_a.tenant):
        company = services.goal_create(
            world_a.tenant,
            actor=world_a.admin,
            level="company",
            title="Grow new business bookings by a fifth",
            metric="bookings",
            target_value=Decimal("1200000"),
            rationale="New logos fund the expansion plan",
            start_date=dt.date(2027, 1, 1),
            due_date=dt.date(2027, 12, 31),
        )
        team_goal = services.goal_create(
            world_a.tenant,
            actor=world_a.manager,
            level="team",
            owner_team=world_a.team,
            parent=company,
            title="West closes 600k of new business",
            metric="bookings",
            target_value=Decimal("600000"),
            rationale="West carries half of the company number",
            start_date=dt.date(2027, 1, 1),
            due_date=dt.date(2027, 12, 31),
        )
        services.goal_approve(world_a.tenant, actor=world_a.admin, goal=team_goal)
        services.goal_progress_record(
            world_a.tenant, values={company.pk: Decimal("420000"), team_goal.pk: Decimal("330000")}
        )
    login(page, live_server, world_a.rep1.user.email, PASSWORD)
    page.goto(f"{live_server.url}/alpha/goals/smart/new/")
    page.fill("#id_title", "Sell more")
    page.select_option("#id_metric", "manual")
    page.fill("#id_target_value", "lots")
    page.fill("#id_start_date", "2027-03-01")
    page.fill("#id_due_date", "2027-02-01")
    page.click("button[name=save]")
    expect(page.get_by_test_id("smart-summary")).to_have_text(
        "This goal is not SMART yet. Missing or weak: Specific, Measurable, Relevant, Time-bound."
    )
    errors = page.locator(".field-error")
    expect(errors).to_have_text(
        [
            "Specific: 'Sell more' is too vague; say what will be achieved in at least 3 words "
            "(for example 'Win 5 new healthcare accounts').",
            "Measurable: the target 'lots' is not a number.",
            "Relevant: say why this goal matters.",
            "Relevant: choose the higher goal this one supports "
            "(goals cascade company -> team -> member).",
            "Time-bound: the due date is before the start date.",
        ]
    )
    _shot(page, "goal-form-refuses-vague-goal")

    page.fill("#id_title", "Book 20 discovery calls a month")
    page.fill("#id_unit", "calls")
    page.fill("#id_target_value", "20")
    page.fill("#id_rationale", "Discovery calls feed the Q2 pipeline")
    page.select_option("#id_parent", label=f"West: {team_goal.title}")
    page.fill("#id_start_date", "2027-01-01")
    page.fill("#id_due_date", "2027-03-31")
    page.click("button[name=propose]")
    expect(page.get_by_test_id("goal-status")).to_have_text("Proposed")

    page.goto(f"{live_server.url}/alpha/goals/alignment/")
    nodes = page.locator("[data-testid=goal-tree] .goal-node")
    expect(nodes).to_have_count(3)
    expect(nodes.nth(0)).to_contain_text("Grow new business bookings by a fifth")
    expect(nodes.nth(0)).to_contain_text("35.00%")
    expect(nodes.nth(1)).to_have_attribute("data-depth", "1")
    expect(nodes.nth(1)).to_contain_text("55.00%")
    expect(nodes.nth(2)).to_have_attribute("data-depth", "2")
    _shot(page, "alignment-tree")


def test_manager_scores_objectives_and_the_rep_sees_the_score(live_server, page, world_a):
    with tenant_context(world_a.tenant):
        q1 = FiscalPeriod.objects.get(
            tenant=world_a.tenant, kind="quarter", fiscal_year=2027, number=1
        )
    login(page, live_server, world_a.manager.user.email, PASSWORD)
    url = f"{live_server.url}/alpha/goals/objectives/set/?member={world_a.rep1.pk}&period={q1.pk}"
    page.goto(url)
    for index, (title, weight) in enumerate(
        (
            ("Launch the partner channel", "40"),
            ("Certify on the new product", "35"),
            ("Clean up the CRM", "25"),
        )
    ):
        page.fill(f"#id_obj-{index}-title", title)
        page.fill(f"#id_obj-{index}-weight_percent", weight)
    page.click("text=Save objectives")
    expect(page.locator(".msg-success")).to_have_text("Objectives saved.")
    for index, score in enumerate(("100", "80", "50")):
        page.fill(f"#id_score-{index}-score_percent", score)
    page.click("text=Save scores")
    expect(page.locator(".msg-success")).to_have_text("Scores saved.")
    expect(page.get_by_test_id("mbo-score")).to_have_text("80.50%")
    _shot(page, "objectives-scoring")

    rep_context = page.context.browser.new_context(viewport={"width": 1280, "height": 800})
    rep_page = rep_context.new_page()
    login(rep_page, live_server, world_a.rep1.user.email, PASSWORD)
    rep_page.goto(url)
    expect(rep_page.get_by_test_id("mbo-score")).to_have_text("80.50%")
    expect(rep_page.locator("text=Save scores")).to_have_count(0)
    rep_context.close()
