"""Log in, land on the tenant home, switch tenant, log out — in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from spm.models import Role
from spm.services import membership_add
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_login_lands_on_tenant_home_then_switch_tenant_and_log_out(
    live_server, page, world_a, world_b
):
    user = world_a.manager.user
    with tenant_context(world_b.tenant):
        membership_add(world_b.tenant, email=user.email, role=Role.FINANCE)

    login(page, live_server, user.email, PASSWORD)
    # Two memberships and no last tenant yet: the picker.
    expect(page.locator("h1")).to_have_text("Choose a company")
    page.click(".picker >> text=Alpha Inc")
    expect(page).to_have_url(f"{live_server.url}/alpha/")
    expect(page.locator("h1")).to_have_text("Welcome, Mia")
    expect(page.locator(".page-head .muted")).to_contain_text("Alpha Inc · Manager")

    page.click("[data-testid=tenant-switcher] summary")
    page.click("[data-testid=tenant-switcher] >> text=Beta Ltd")
    expect(page).to_have_url(f"{live_server.url}/beta/")
    expect(page.locator(".page-head .muted")).to_contain_text("Beta Ltd · Finance")

    page.click("[data-testid=user-menu] summary")
    page.click("text=Log out")
    expect(page.locator("h1")).to_have_text("You are logged out")
    page.goto(f"{live_server.url}/alpha/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/alpha/")


def test_wrong_password_shows_an_error(live_server, page, world_a):
    login(page, live_server, world_a.rep1.user.email, "wrong-password")
    expect(page.locator("[role=alert]")).to_have_text(
        "Your email and password didn't match. Please try again."
    )


def test_single_tenant_user_lands_directly_on_home(live_server, page, world_a):
    login(page, live_server, world_a.rep1.user.email, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/alpha/")
    expect(page.locator("h1")).to_have_text("Welcome, Ray")
