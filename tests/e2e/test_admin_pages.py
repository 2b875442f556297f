"""An admin manages people and the team tree in the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from spm.env import env_str
from spm.models import Membership, Team
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e
SHOTS = env_str("SPM_SHOTS_DIR")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_admin_adds_a_person_and_builds_the_team_tree(live_server, page, world_a):
    login(page, live_server, world_a.admin.user.email, PASSWORD)
    base = f"{live_server.url}/alpha"

    page.goto(f"{base}/people/")
    expect(page.locator("[data-testid=people-table] tbody tr")).to_have_count(7)
    shot(page, "people")
    page.click("text=Add a person")
    page.fill("#id_email", "rep1@alpha.test")
    page.fill("#id_start_date", "2027-03-01")
    page.click("button:has-text('Add')")
    expect(page.locator(".field-error")).to_have_text(
        "rep1@alpha.test is already a member of Alpha Inc."
    )
    shot(page, "member-error")
    page.fill("#id_email", "nora@alpha.test")
    page.fill("#id_first_name", "Nora")
    page.fill("#id_last_name", "New")
    page.select_option("#id_team", label="West")
    page.click("button:has-text('Add')")
    expect(page.locator(".msg-success")).to_have_text("Nora New was added as Rep.")
    expect(page.locator("[data-testid=people-table] tbody tr")).to_have_count(8)

    page.goto(f"{base}/teams/")
    page.click("a[href$='/teams/add/']")
    page.fill("#id_name", "West SMB")
    page.select_option("#id_parent", label="— West")
    page.click("button:has-text('Save')")
    expect(page.locator(".msg-success")).to_have_text("Team West SMB was created.")
    row = page.locator(".tree-node", has_text="West SMB")
    expect(row).to_have_attribute("style", "--depth: 2")

    # Move West (with West SMB) under East.
    page.locator(".tree-node", has_text="West").first.locator("text=Edit").click()
    page.select_option("#id_parent", label="— East")
    page.click("button:has-text('Save')")
    expect(page.locator(".tree-node", has_text="West SMB")).to_have_attribute("style", "--depth: 3")
    shot(page, "teams")

    with tenant_context(world_a.tenant):
        smb = Team.objects.get(name="West SMB")
        west = Team.objects.get(name="West")
        nora = Membership.objects.get(user__email="nora@alpha.test")
    assert smb.path == f"/{world_a.root_team.pk}/{world_a.other_team.pk}/{west.pk}/{smb.pk}/"
    assert nora.team_id == west.pk

    page.goto(f"{base}/periods/?year=2027")
    expect(page.locator("tbody tr")).to_have_count(17)
    shot(page, "periods")
    page.goto(f"{base}/settings/")
    shot(page, "settings")


def test_rep_sees_the_forbidden_page_for_people(live_server, page, world_a):
    login(page, live_server, world_a.rep1.user.email, PASSWORD)
    response = page.goto(f"{live_server.url}/alpha/people/")
    assert response.status == 403
    expect(page.locator("[role=alert]")).to_have_text(
        "This page needs one of these roles: admin, finance, manager."
    )
    expect(page.locator(".mainnav a", has_text="People")).to_have_count(0)
    expect(page.locator(".mainnav a", has_text="Settings")).to_have_count(0)
