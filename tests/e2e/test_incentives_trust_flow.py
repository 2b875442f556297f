"""Statements reps trust, the whole loop in a browser (issue "Incentives II",
"Done when"): an admin asks finance to approve publishing January; finance
approves on the Approvals page and publishes; the rep gets the email through a
real SMTP server (aiosmtpd on loopback), opens the statement from its link and
disputes one line; finance resolves it with an adjustment; the next run's
statement shows the adjustment and what changed; payroll exports the period
once, and a second export carries only the adjustment. The rep accepts their
plan on the way, and the assignment page shows it.

Screenshots at 1400 and 390 px go to $SPM_SHOTS_DIR (default
/tmp/shots-incentives/)."""

from __future__ import annotations

import datetime as dt
import re
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery.contrib.testing.worker import start_worker
from django.test import override_settings
from playwright.sync_api import Page, expect

from incentives import services
from incentives.models import PayrollExport
from spm.celery import app as celery_app
from spm.tenancy.context import tenant_context
from tests.e2e.test_incentives_flow import as_user, shots
from tests.incentives.trust_helpers import JAN1, period, setup_plan, won

pytestmark = pytest.mark.e2e


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox(live_server: Any) -> Iterator[Inbox]:
    """A real SMTP server on loopback that the app's mail goes to, and links
    in mail that point at the live server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            SPM_BASE_URL=live_server.url,
        ):
            yield inbox
    finally:
        controller.stop()


@pytest.fixture
def january(world_a: Any) -> Any:
    """rep1 on the AE plan (marginal bands on a 100,000.00 quarterly quota),
    60,000.00 and 10,000.00 won in January: 2,600.00 in three lines."""
    with tenant_context(world_a.tenant):
        setup_plan(world_a)
        won(world_a, "60000.00", dt.date(2027, 1, 20))
        won(world_a, "10000.00", dt.date(2027, 1, 25))
        return period(world_a.tenant, "month", JAN1)


def run_month(page: Page, live_server: Any, month: Any) -> None:
    page.goto(f"{live_server.url}/alpha/incentives/runs/")
    page.select_option("#id_period", str(month.pk))
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        page.click("text=Start a preview run")
        expect(page.locator('[data-testid="comparison"]')).to_be_visible(timeout=30_000)


def approve_and_publish(admin: Page, finance: Page, live_server: Any, note: str) -> None:
    """The admin asks on the run page; finance approves in the queue, then
    publishes (with a worker, which sends the notifications)."""
    run_url = admin.url
    expect(admin.locator('[data-testid="publish"]')).to_be_disabled()
    admin.fill('[data-testid="run-approval"] input[name=note]', note)
    admin.click('[data-testid="request-approval"]')
    expect(admin.locator(".msg-success")).to_contain_text("Finance is asked to approve publishing")
    expect(admin.locator('[data-testid="approval-state"]')).to_contain_text("waiting for finance")
    finance.goto(f"{live_server.url}/alpha/incentives/approvals/")
    expect(finance.locator('[data-testid="pending-approvals"]')).to_contain_text(note)
    shots(finance, "approvals-queue")
    finance.click('[data-testid="pending-approvals"] [data-testid="approve"]')
    expect(finance.locator(".msg-success")).to_contain_text("Approved: Publish the statements")
    finance.goto(run_url)
    expect(finance.locator('[data-testid="approval-state"]')).to_contain_text("Approved")
    finance.click('[data-testid="publish"]')
    expect(finance.locator(".msg-success")).to_contain_text("Published: the statements")


def wait_for_mail(page: Page, inbox: Inbox, subject: str, *, count: int) -> bytes:
    """The ``count``-th mail with ``subject`` to arrive (a worker sends them)."""
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        for _ in range(80):
            found = [m for m in inbox.messages if f"Subject: {subject}".encode() in m[2]]
            if len(found) >= count:
                return found[count - 1][2]
            page.wait_for_timeout(250)
    raise AssertionError(f"no mail {subject!r}; got {[m[2][:120] for m in inbox.messages]}")


def open_link(page: Page, mail: bytes) -> None:
    link = re.search(rb"Open it: (\S+)", mail)
    assert link is not None, mail
    page.goto(link.group(1).decode())


def test_publish_dispute_resolve_rerun_and_pay_once(
    browser, live_server, world_a, january, smtp_inbox, transactional_db
):
    admin = as_user(browser, live_server, "admin@alpha.test")
    finance = as_user(browser, live_server, "finance@alpha.test")
    rep = as_user(browser, live_server, "rep1@alpha.test")

    # The rep accepts the plan they were assigned; the assignment page shows it.
    rep.goto(f"{live_server.url}/alpha/incentives/plans/mine/")
    expect(rep.locator('[data-testid="plan-acceptance"]')).to_contain_text("AE FY2027 v1")
    shots(rep, "my-plan-accept")
    rep.click('[data-testid="accept-plan"]')
    expect(rep.locator(".msg-success")).to_have_text("You accepted AE FY2027 v1.")
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", JAN1)
    admin.goto(f"{live_server.url}/alpha/incentives/assignments/?period={q1.pk}")
    expect(admin.locator('[data-testid="accepted"]')).not_to_contain_text("Not yet")
    shots(admin, "assignments-accepted")

    # Run January; publishing waits for finance's approval.
    run_month(admin, live_server, january)
    expect(admin.locator('[data-testid="run-total"]')).to_have_text("$2,600.00")
    shots(admin, "run-needs-approval")
    approve_and_publish(admin, finance, live_server, "January close")

    # The rep gets the email and opens the statement from its link.
    published = "[Alpha Inc] Your statement for Jan 2027 is published"
    mail = wait_for_mail(rep, smtp_inbox, published, count=1)
    assert b"To: rep1@alpha.test" in mail
    open_link(rep, mail)
    expect(rep.locator('[data-testid="statement-total"]')).to_have_text("$2,600.00")
    expect(rep.locator('[data-testid="statement-lines"] tbody tr')).to_have_count(3)

    # Payroll exports January once.
    finance.goto(f"{live_server.url}/alpha/incentives/payroll/")
    finance.select_option("#id_period", str(january.pk))
    finance.click("text=Export and mark paid")
    expect(finance.locator(".msg-success")).to_contain_text("Export #1 of Jan 2027: 3 lines")

    # The rep disputes the last line.
    rep.click("text=Dispute this statement or a line")
    rep.select_option("#id_line", index=3)
    rep.fill("#id_reason", "The Jan 25 deal was a two-year contract: 400.00 is missing.")
    rep.click("text=Send the dispute")
    expect(rep.locator(".msg-success")).to_contain_text("Dispute sent")
    expect(rep.locator("main")).to_contain_text(
        re.compile(r"line 3: Deal \d+: 10,000\.00 x 8% in band 50-100%")
    )
    shots(rep, "statement-disputed")

    # Finance resolves it with an adjustment of 400.00.
    finance.goto(f"{live_server.url}/alpha/incentives/disputes/")
    finance.click('[data-testid="disputes"] tbody tr a')
    finance.fill('[data-testid="resolve-form"] [name=amount]', "400.00")
    finance.fill('[data-testid="resolve-form"] [name=answer]', "Agreed: the second year pays too.")
    finance.click('[data-testid="resolve-form"] button[type=submit]')
    expect(finance.locator('[data-testid="dispute-status"]')).to_have_text("Resolved")
    expect(finance.locator('[data-testid="dispute-adjustment"]')).to_contain_text("$400.00")

    # The next run of January pays it; its statement says what changed.
    run_month(admin, live_server, january)
    expect(admin.locator('[data-testid="run-total"]')).to_have_text("$3,000.00")
    approve_and_publish(admin, finance, live_server, "January with the dispute")
    open_link(rep, wait_for_mail(rep, smtp_inbox, published, count=2))
    expect(rep.locator('[data-testid="statement-total"]')).to_have_text("$3,000.00")
    expect(rep.locator('[data-testid="statement-lines"]')).to_contain_text("$400.00")
    changes = rep.locator('[data-testid="statement-changes"]')
    expect(changes).to_contain_text("What changed since the last run")
    expect(changes).to_contain_text("adjustment")
    expect(changes.locator("tfoot")).to_contain_text("$400.00")
    shots(rep, "statement-what-changed")

    # The second export carries only the adjustment.
    finance.goto(f"{live_server.url}/alpha/incentives/payroll/")
    finance.select_option("#id_period", str(january.pk))
    finance.click("text=Export and mark paid")
    expect(finance.locator(".msg-success")).to_contain_text("Export #2 of Jan 2027: 1 lines")
    shots(finance, "payroll")
    with tenant_context(world_a.tenant):
        second = PayrollExport.objects.get(sequence=2)
        rows = services.payroll_csv(world_a.tenant, export=second).splitlines()
    assert second.totals == [{"currency": "USD", "amount": "400.00"}]
    assert rows[1:] == [",Ray One,rep1@alpha.test,Jan 2027,ADJ,adjustment,manual,400.00,USD"]
    downloaded = finance.request.get(
        f"{live_server.url}/alpha/incentives/payroll/{second.pk}/download/"
    )
    assert downloaded.text().splitlines()[1:] == rows[1:]
    assert Decimal("400.00") == Decimal(second.totals[0]["amount"])
