"""Payroll exports: once per line, later exports only what changed."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from incentives import services
from incentives.models import Assignment, PayrollExport, PayrollLine
from pipeline.services import exchange_rate_create
from spm.models import Membership
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.incentives.trust_helpers import (
    JAN1,
    approve_and_publish,
    period,
    published_january,
    run_period,
    setup_plan,
    won,
)
from tests.integrations.factories import bearer, issue_token

pytestmark = pytest.mark.django_db
D = Decimal
HEADER = "employee_id,member,email,period,earning_code,component,kind,amount,currency"


@pytest.fixture
def world(world_a):
    with tenant_context(world_a.tenant):
        Membership.objects.filter(pk=world_a.rep1.pk).update(employee_id="E-001")
        yield world_a


def _export(client, statement):
    return client.post(
        "/api/v1/alpha/payroll-exports/", {"period": statement.period_id}, format="json"
    )


def test_a_period_is_paid_once_and_then_only_what_changed(world):
    statement = published_january(world)
    finance = api_client_for(world.finance.user)
    first = _export(finance, statement)
    assert first.status_code == 201, first.json()
    assert {k: first.json()[k] for k in ("sequence", "line_count", "totals")} == {
        "sequence": 1,
        "line_count": 3,
        "totals": [{"currency": "USD", "amount": "2600.00"}],
    }
    csv_text = finance.get(f"/api/v1/alpha/payroll-exports/{first.json()['id']}/download/")
    assert csv_text.content.decode().splitlines() == [
        HEADER,
        "E-001,Ray One,rep1@alpha.test,Jan 2027,COMM,bookings,commission,1000.00,USD",
        "E-001,Ray One,rep1@alpha.test,Jan 2027,COMM,bookings,commission,800.00,USD",
        "E-001,Ray One,rep1@alpha.test,Jan 2027,COMM,bookings,commission,800.00,USD",
    ]
    again = _export(finance, statement)
    assert again.status_code == 400
    assert again.json()["detail"] == "period: Nothing changed in Jan 2027 since export #1."

    services.adjustment_create(
        world.tenant,
        membership=world.rep1,
        period=statement.period,
        amount=D("400.00"),
        reason="dispute settled",
        actor=world.finance,
    )
    preview = run_period(world)
    refused = _export(finance, statement)
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "period: Jan 2027 has unpublished statements (Ray One): publish the run first."
    )
    approve_and_publish(world, preview)
    second = _export(finance, statement)
    assert second.status_code == 201
    assert (second.json()["sequence"], second.json()["line_count"], second.json()["totals"]) == (
        2,
        1,
        [{"currency": "USD", "amount": "400.00"}],
    )
    xlsx = finance.get(
        f"/api/v1/alpha/payroll-exports/{second.json()['id']}/download/", {"as": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        HEADER.split(","),
        [
            "E-001",
            "Ray One",
            "rep1@alpha.test",
            "Jan 2027",
            "ADJ",
            "adjustment",
            "manual",
            400,
            "USD",
        ],
    ]
    paid = sum(PayrollLine.objects.values_list("amount", flat=True), D("0"))
    assert paid == D("3000.00")


def test_only_finance_exports(world, world_b):
    statement = published_january(world)
    for member in (world.admin, world.rep1, world.manager):
        assert _export(api_client_for(member.user), statement).status_code == 403
    other = _export(api_client_for(world_b.finance.user), statement)
    assert other.status_code == 404
    assert PayrollExport.objects.count() == 0


def test_the_payroll_page_exports_and_lists(world):
    statement = published_january(world)
    page = client_for(world.finance.user)
    response = page.post("/alpha/incentives/payroll/", {"period": statement.period_id})
    assert response.status_code == 302
    listing = page.get("/alpha/incentives/payroll/").content.decode()
    assert "$2,600.00" in listing
    assert client_for(world.rep1.user).get("/alpha/incentives/payroll/").status_code == 403


def test_members_paid_in_two_currencies_get_one_total_per_currency(world):
    # Rep1 is paid in USD, rep3 in EUR at 1.25 USD per EUR; both won the same
    # deals, so rep3 lines are 1,000.00, 800.00 and 800.00 USD / 1.25.
    setup_plan(world, members=[world.rep1, world.other_rep])
    Assignment.objects.filter(membership=world.other_rep).update(payout_currency="EUR")
    exchange_rate_create(
        world.tenant,
        actor=world.admin,
        currency="EUR",
        period=period(world.tenant, "month", JAN1),
        rate=D("1.250000"),
    )
    for owner in (world.rep1, world.other_rep):
        won(world, "60000.00", dt.date(2027, 1, 20), owner=owner)
        won(world, "10000.00", dt.date(2027, 1, 25), owner=owner)
    approve_and_publish(world, run_period(world))
    finance = api_client_for(world.finance.user)

    created = finance.post(
        "/api/v1/alpha/payroll-exports/",
        {"period": period(world.tenant, "month", JAN1).pk},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert (created.json()["line_count"], created.json()["totals"]) == (
        6,
        [{"currency": "EUR", "amount": "2080.00"}, {"currency": "USD", "amount": "2600.00"}],
    )
    listing = client_for(world.finance.user).get("/alpha/incentives/payroll/").content.decode()
    assert "€2,080.00<br>$2,600.00" in listing


def test_the_payroll_export_api_needs_the_payroll_export_scope(world):
    statement = published_january(world)
    reader = bearer(issue_token(world.finance, ["incentives:read", "reports:read"]).key)
    payroll = bearer(issue_token(world.finance, ["payroll:export"]).key)

    denied_read = reader.get("/api/v1/alpha/payroll-exports/")
    denied_write = reader.post(
        "/api/v1/alpha/payroll-exports/", {"period": statement.period_id}, format="json"
    )
    assert PayrollExport.objects.count() == 0
    created = payroll.post(
        "/api/v1/alpha/payroll-exports/", {"period": statement.period_id}, format="json"
    )
    listed = payroll.get("/api/v1/alpha/payroll-exports/")

    assert (denied_read.status_code, denied_read.json()["detail"]) == (
        403,
        "This token lacks the scope payroll:export.",
    )
    assert (denied_write.status_code, denied_write.json()["detail"]) == (
        403,
        "This token lacks the scope payroll:export.",
    )
    assert created.status_code == 201
    assert [row["id"] for row in listed.json()["results"]] == [created.json()["id"]]


def test_an_export_retried_with_its_idempotency_key_is_made_once(world):
    statement = published_january(world)
    finance = api_client_for(world.finance.user)
    body = {"period": statement.period_id}

    first = finance.post(
        "/api/v1/alpha/payroll-exports/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-jan-1"
    )
    retried = finance.post(
        "/api/v1/alpha/payroll-exports/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-jan-1"
    )

    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert PayrollExport.objects.count() == 1
