"""Acknowledgements, disputes and notifications: services, API and pages."""

from __future__ import annotations

import datetime as dt
import socket
from decimal import Decimal

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core import mail
from django.test import override_settings

from incentives import services
from incentives.models import (
    Acknowledgement,
    AckState,
    Adjustment,
    Dispute,
    DisputeStep,
    Notification,
    Statement,
    StatementLine,
)
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.incentives.trust_helpers import published_january, run_period

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def world(world_a):
    with tenant_context(world_a.tenant):
        yield world_a


@pytest.fixture
def statement(world):
    return published_january(world)


def _ack(statement):
    return Acknowledgement.objects.get(statement=statement)


def _line(statement, position):
    return StatementLine.objects.get(statement=statement, position=position)


def test_publishing_opens_the_window_and_tells_the_member(world, statement):
    ack = _ack(statement)
    assert statement.total == D("2600.00")
    assert (ack.state, ack.membership_id) == (AckState.PENDING, world.rep1.pk)
    assert ack.window_closes_at - ack.published_at == dt.timedelta(days=10)
    note = Notification.objects.get(recipient=world.rep1, kind="statement_published")
    assert note.title == "Your statement for Jan 2027 is published"
    assert note.link == f"/alpha/incentives/statements/{statement.pk}/"
    assert services.notifications_email(world.tenant, notification_ids=[note.pk]) == 1
    assert services.notifications_email(world.tenant, notification_ids=[note.pk]) == 0
    (message,) = mail.outbox
    assert message.to == ["rep1@alpha.test"]
    assert message.subject == "[Alpha Inc] Your statement for Jan 2027 is published"
    assert f"Open it: http://127.0.0.1:8000/alpha/incentives/statements/{statement.pk}/" in (
        message.body
    )


def test_a_member_who_opted_out_gets_it_in_the_app_only(world, statement):
    services.notification_preferences_set(world.tenant, membership=world.rep1, email_kinds=[])
    note = Notification.objects.get(recipient=world.rep1, kind="statement_published")
    assert services.notifications_email(world.tenant, notification_ids=[note.pk]) == 0
    assert mail.outbox == []
    assert (
        services.notification_preferences(world.tenant, membership=world.rep1)[
            "statement_published"
        ]
        is False
    )


def test_the_rep_acknowledges_their_own_statement_over_the_api(world, world_b, statement):
    path = f"/api/v1/alpha/statements/{statement.pk}/acknowledge/"
    for member in (world.rep2, world.manager, world.finance):
        assert api_client_for(member.user).post(path).status_code == 404
    assert api_client_for(world_b.rep1.user).post(path).status_code == 404
    assert _ack(statement).state == AckState.PENDING
    response = api_client_for(world.rep1.user).post(path)
    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"
    listed = api_client_for(world.rep1.user).get("/api/v1/alpha/statements/").json()["results"]
    assert [(s["id"], s["ack_state"]) for s in listed] == [(statement.pk, "acknowledged")]


def test_disputing_after_the_window_is_a_409_naming_the_day_it_closed(world, statement):
    closes = _ack(statement).window_closes_at
    rep = api_client_for(world.rep1.user)
    with time_machine.travel(closes + dt.timedelta(minutes=1), tick=False):
        response = rep.post(
            "/api/v1/alpha/disputes/",
            {"statement": statement.pk, "reason": "missing deal"},
            format="json",
        )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"The dispute window of this statement closed on {closes.date().isoformat()}."
    )
    assert Dispute.objects.count() == 0
    assert _ack(statement).state == AckState.PENDING


def test_someone_elses_statement_cannot_be_disputed(world, world_b, statement):
    body = {"statement": statement.pk, "reason": "not mine"}
    for member in (world.rep2, world.manager):
        response = api_client_for(member.user).post("/api/v1/alpha/disputes/", body, format="json")
        assert response.status_code == 404
    assert Dispute.objects.count() == 0


def test_a_line_dispute_resolved_with_an_adjustment_reaches_the_next_run(world, statement):
    line = _line(statement, 2)  # the 10,000.00 deal: 800.00
    rep = api_client_for(world.rep1.user)
    created = rep.post(
        "/api/v1/alpha/disputes/",
        {
            "statement": statement.pk,
            "line": line.pk,
            "reason": "This deal was 15,000.00",
            "attachment_name": "order.txt",
            "attachment_type": "text/plain",
            "attachment_base64": "b3JkZXIgMTUwMDA=",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    dispute_id = created.json()["id"]
    assert _ack(statement).state == AckState.DISPUTED
    reviewers = set(
        Notification.objects.filter(kind="dispute_opened").values_list("recipient_id", flat=True)
    )
    assert reviewers == {world.manager.pk, world.finance.pk}
    assert rep.get(f"/api/v1/alpha/disputes/{dispute_id}/attachment/").content == b"order 15000"
    manager = api_client_for(world.manager.user)
    denied = manager.post(
        f"/api/v1/alpha/disputes/{dispute_id}/resolve/",
        {"amount": "400.00", "answer": "ok"},
        format="json",
    )
    assert denied.status_code == 403
    assert (
        manager.post(
            f"/api/v1/alpha/disputes/{dispute_id}/comment/", {"text": "Checked the order."}
        ).status_code
        == 200
    )
    resolved = api_client_for(world.finance.user).post(
        f"/api/v1/alpha/disputes/{dispute_id}/resolve/",
        {"amount": "400.00", "answer": "Order confirms 15,000.00: 5,000.00 x 8%."},
        format="json",
    )
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["status"] == "resolved"
    assert [(s["kind"], s["actor"]) for s in body["steps"]] == [
        ("opened", world.rep1.pk),
        ("comment", world.manager.pk),
        ("resolved", world.finance.pk),
    ]
    adjustment = Adjustment.objects.get()
    assert (adjustment.amount, adjustment.period_id, adjustment.membership_id) == (
        D("400.00"),
        statement.period_id,
        world.rep1.pk,
    )
    told = list(
        Notification.objects.filter(recipient=world.rep1, kind="dispute_step")
        .order_by("id")
        .values_list("title", flat=True)
    )
    assert told == [
        "Mia Manager commented on the dispute of Jan 2027",
        "Your dispute of Jan 2027 is resolved: adjustment of $400.00",
    ]
    rerun = run_period(world)
    again = Statement.objects.get(run=rerun, membership=world.rep1)
    assert again.total == D("3000.00")
    manual = StatementLine.objects.get(statement=again, kind="manual")
    assert manual.amount == D("400.00")
    assert manual.explanation == (
        f"manual adjustment: dispute #{dispute_id} on Jan 2027: "
        "Order confirms 15,000.00: 5,000.00 x 8%."
    )
    changes = rep.get(f"/api/v1/alpha/statements/{again.pk}/changes/").json()
    assert changes == {
        "base_run": statement.run_id,
        "base_total": "2600.00",
        "total": "3000.00",
        "difference": "400.00",
        "changes": [
            {
                "category": "adjustment",
                "subject": changes["changes"][0]["subject"],
                "effect": "400.00",
                "text": f"Manual adjustment: dispute #{dispute_id} on Jan 2027: "
                "Order confirms 15,000.00: 5,000.00 x 8%: +400.00",
            }
        ],
    }
    assert (
        api_client_for(world.rep2.user)
        .get(f"/api/v1/alpha/statements/{again.pk}/changes/")
        .status_code
        == 404
    )
    page = client_for(world.rep1.user).get(f"/alpha/incentives/statements/{again.pk}/")
    assert "What changed since the last run" in page.content.decode()


def test_a_rejected_dispute_keeps_its_answer(world, statement):
    dispute = services.dispute_open(
        world.tenant, statement=statement, actor=world.rep1, reason="too low"
    )
    services.dispute_reject(
        world.tenant, dispute=dispute, actor=world.finance, answer="Rates are as agreed."
    )
    dispute.refresh_from_db()
    assert (dispute.status, dispute.answer, dispute.closed_by_id) == (
        "rejected",
        "Rates are as agreed.",
        world.finance.pk,
    )
    assert list(DisputeStep.objects.values_list("kind", flat=True)) == ["opened", "rejected"]
    assert Adjustment.objects.count() == 0


def test_unanswered_statements_are_accepted_when_the_window_closes(world, statement):
    closes = _ack(statement).window_closes_at
    assert services.acknowledgements_auto_accept(world.tenant, now=closes) == 0
    later = closes + dt.timedelta(hours=1)
    assert services.acknowledgements_auto_accept(world.tenant, now=later) == 1
    assert services.acknowledgements_auto_accept(world.tenant, now=later) == 0
    ack = _ack(statement)
    assert (ack.state, ack.answered_at) == (AckState.AUTO_ACCEPTED, later)
    page = client_for(world.rep1.user).get(f"/alpha/incentives/statements/{statement.pk}/")
    assert "Accepted automatically on" in page.content.decode()
    assert Notification.objects.filter(kind="statement_auto_accepted").count() == 1


def test_statement_pages_answer_and_refuse(world, world_b, statement):
    url = f"/alpha/incentives/statements/{statement.pk}/"
    rep = client_for(world.rep1.user)
    page = rep.get(url).content.decode()
    assert 'data-testid="dispute-form"' in page
    assert 'data-testid="acknowledge"' in page
    manager_page = client_for(world.manager.user).get(url).content.decode()
    assert 'data-testid="dispute-form"' not in manager_page
    assert client_for(world.rep2.user).post(url + "acknowledge/").status_code == 404
    assert client_for(world_b.rep1.user).post(url + "acknowledge/").status_code == 404
    closes = _ack(statement).window_closes_at
    with time_machine.travel(closes + dt.timedelta(days=1), tick=False):
        late = rep.post(url + "dispute/", {"reason": "late"})
    assert late.status_code == 409
    assert f"closed on {closes.strftime('%b')} {closes.day}, {closes.year}" in late.content.decode()
    assert rep.post(url + "acknowledge/").status_code == 302
    listed = rep.get("/alpha/incentives/statements/").content.decode()
    assert "acknowledged" in listed


def test_the_dispute_queue_shows_age_to_managers_and_finance(world, statement):
    services.dispute_open(world.tenant, statement=statement, actor=world.rep1, reason="x")
    for member in (world.manager, world.finance, world.rep1):
        page = client_for(member.user).get("/alpha/incentives/disputes/").content.decode()
        assert "Ray One" in page
    other = client_for(world.other_manager.user).get("/alpha/incentives/disputes/")
    assert "Ray One" not in other.content.decode()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_notifications_go_through_a_real_smtp_server(world, statement, smtp_server):
    controller, inbox = smtp_server
    note = Notification.objects.get(recipient=world.rep1, kind="statement_published")
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=controller.port,
    ):
        assert services.notifications_email(world.tenant, notification_ids=[note.pk]) == 1
    ((sender, recipients, content),) = inbox.messages
    assert recipients == ["rep1@alpha.test"]
    assert b"Subject: [Alpha Inc] Your statement for Jan 2027 is published" in content
    assert f"/alpha/incentives/statements/{statement.pk}/".encode() in content
