"""Payroll exports: once per line, later exports only what changed."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from incentives import services
from incentives.models import PayrollExport, PayrollLine
from spm.models import Membership
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.incentives.trust_helpers import published_january, run_period

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
    assert {k: first.json()[k] for k in ("sequence", "line_count", "total", "currency")} == {
        "sequence": 1,
        "line_count": 3,
        "total": "2600.00",
        "currency": "USD",
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
    services.calc_run_publish(world.tenant, run=preview, actor=world.finance)
    second = _export(finance, statement)
    assert second.status_code == 201
    assert (second.json()["sequence"], second.json()["line_count"], second.json()["total"]) == (
        2,
        1,
        "400.00",
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
