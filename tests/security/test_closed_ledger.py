"""A closed period's ledger and statements refuse writes from the API (409
problem+json), from the ORM's bulk update() and from raw SQL as the runtime
role (database triggers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from incentives.models import Adjustment, Statement, StatementLine
from spm import services as core_services
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for
from tests.faults.data import sales_data, undisturbed_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_january(world_a):  # type: ignore[no-untyped-def]
    """Alpha's January computed (rep1 1,800.00, rep2 600.00), adjusted, then closed."""
    sales_data(world_a)
    run = undisturbed_run(world_a.tenant, dt.date(2027, 1, 1))
    with tenant_context(world_a.tenant):
        january = FiscalPeriod.objects.get(kind="month", start=dt.date(2027, 1, 1))
        Adjustment.objects.create(
            tenant=world_a.tenant,
            membership=world_a.rep1,
            period=january,
            amount=Decimal("50.00"),
            reason="SPIFF",
        )
        core_services.period_close(world_a.tenant, period=january, actor=world_a.admin.user)
    return run


def _ledger(tenant):  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        return (
            sorted(Statement.objects.values_list("total", flat=True)),
            sorted(StatementLine.objects.values_list("amount", flat=True)),
            sorted(Adjustment.objects.values_list("amount", flat=True)),
        )


# (statement totals, line amounts, adjustments), each sorted, as computed and closed.
LEDGER = (
    [Decimal("600.00"), Decimal("1800.00")],
    [Decimal("600.00"), Decimal("800.00"), Decimal("1000.00")],
    [Decimal("50.00")],
)


def test_the_api_answers_409_for_a_closed_periods_adjustment(world_a, closed_january):
    with tenant_context(world_a.tenant):
        january = FiscalPeriod.objects.get(kind="month", start=dt.date(2027, 1, 1))
    response = api_client_for(world_a.finance.user).post(
        "/api/v1/alpha/adjustments/",
        {"membership": world_a.rep1.pk, "period": january.pk, "amount": "10.00", "reason": "x"},
        format="json",
    )
    assert (response.status_code, response["Content-Type"]) == (409, "application/problem+json")
    assert response.json()["detail"] == "Jan 2027 is closed; its statements are never rewritten."
    assert _ledger(world_a.tenant) == LEDGER


@pytest.mark.parametrize(
    "write",
    [
        lambda: Statement.objects.update(total=Decimal("0.00")),
        lambda: StatementLine.objects.update(amount=Decimal("0.00")),
        lambda: Adjustment.objects.update(amount=Decimal("0.00")),
        lambda: StatementLine.objects.all().delete(),
        lambda: Adjustment.objects.all().delete(),
    ],
    ids=["statements", "lines", "adjustments", "delete lines", "delete adjustments"],
)
def test_bulk_orm_writes_are_refused_by_the_database(world_a, closed_january, write):
    with (
        tenant_context(world_a.tenant),
        pytest.raises(DatabaseError, match="of a closed period are never"),
        transaction.atomic(),
    ):
        write()
    assert _ledger(world_a.tenant) == LEDGER


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE incentives_statement SET total = 0",
        "UPDATE incentives_statementline SET amount = amount + 1",
        "DELETE FROM incentives_adjustment",
        "INSERT INTO incentives_adjustment (tenant_id, membership_id, period_id, amount, reason,"
        " created_at) SELECT tenant_id, membership_id, period_id, 1, 'raw', now()"
        " FROM incentives_adjustment",
    ],
)
def test_raw_sql_as_the_runtime_role_is_refused(world_a, closed_january, sql):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
    with (
        tenant_context(world_a.tenant),
        pytest.raises(DatabaseError, match="of a closed period are never"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert _ledger(world_a.tenant) == LEDGER
