"""Properties of runs against the database, for any deals (hypothesis): credits
add up to the deal, a statement's total is the sum of its lines, a rerun
writes nothing, and a closed period's lines never change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goals.models import Measure, Quota
from incentives import services
from incentives.models import CalcRun, Credit, Statement, StatementLine
from pipeline.models import Deal
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.incentives.trust_helpers import approve_and_publish
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db
D = Decimal
JAN, FEB = dt.date(2027, 1, 1), dt.date(2027, 2, 1)

PLAN = {
    "schema_version": 1,
    "name": "Property plan",
    "effective_from": "2027-01-01",
    "components": [
        {
            "key": "bookings",
            "measure": "credited_bookings",
            "credit_roles": ["direct", "split", "overlay"],
            "rate_table": [
                {"from": "0", "to": "50", "rate": "2"},
                {"from": "50", "to": "100", "rate": "8"},
                {"from": "100", "rate": "12"},
            ],
            "cap": {"per_period": "9000.00"},
        }
    ],
}

deals = st.lists(
    st.tuples(
        st.decimals(min_value=D("0.01"), max_value=D("90000"), places=2),
        st.sampled_from([JAN, FEB]),
        st.integers(min_value=1, max_value=28),
        st.sampled_from(["owner", "70/30", "equal"]),
    ),
    min_size=1,
    max_size=6,
)


class Rollback(Exception):
    """Undo one example's writes."""


def period(tenant, start):
    return FiscalPeriod.objects.get(tenant=tenant, kind="month", start=start)


def run(world, start):
    created = services.calc_run_start(world.tenant, period=period(world.tenant, start), actor=None)
    return services.calc_run_execute(world.tenant, run_id=created.pk)


def make_deal(world, amount, month, day, split):
    splits = {
        "owner": None,
        "70/30": [(world.rep1, D("70")), (world.other_rep, D("30"))],
        "equal": [
            (world.rep1, D("33.33")),
            (world.rep2, D("33.33")),
            (world.other_rep, D("33.33")),
        ],
    }[split]
    DealFactory(
        tenant=world.tenant,
        owner=world.rep1,
        amount=amount,
        stage=stage_named(world.tenant, "Closed won"),
        expected_close_date=month.replace(day=day),
        close_date=month.replace(day=day),
        splits=splits,
    )


@pytest.fixture
def planned(world_a):
    with tenant_context(world_a.tenant):
        version = services.plan_version_create(world_a.tenant, source=PLAN, actor=None)
        for member in (world_a.rep1, world_a.rep2, world_a.other_rep, world_a.manager):
            services.assignment_create(
                world_a.tenant,
                membership=member,
                version=version,
                start_date=JAN,
                end_date=None,
                target_incentive=D("0"),
                actor=None,
            )
            Quota.objects.create(
                tenant=world_a.tenant,
                period=FiscalPeriod.objects.get(tenant=world_a.tenant, kind="quarter", start=JAN),
                membership=member,
                measure=Measure.BOOKINGS,
                amount=D("100000.00"),
            )
        yield world_a


def check_invariants(world, rows):
    """Every property on one example's deals; raises Rollback at the end."""
    for amount, month, day, split in rows:
        make_deal(world, amount, month, day, split)
    january = run(world, JAN)
    # Credits (January's, refreshed by its run): direct and split add up to the deal.
    for deal in Deal.objects.filter(tenant=world.tenant, close_date__lt=FEB):
        credited = Credit.objects.filter(
            tenant=world.tenant, deal_id=deal.pk, role__in=["direct", "split"]
        ).aggregate(total=Sum("amount"))["total"]
        assert credited == deal.base_amount
    # A rerun with nothing changed writes nothing.
    assert run(world, JAN).lines_written == 0
    approve_and_publish(world, january)
    FiscalPeriod.objects.filter(pk=january.period_id).update(is_closed=True)
    closed = list(
        StatementLine.objects.filter(tenant=world.tenant, period__start=JAN)
        .order_by("id")
        .values_list("id", "amount", "explanation")
    )
    run(world, FEB)
    # A closed period's lines never change.
    assert (
        list(
            StatementLine.objects.filter(tenant=world.tenant, period__start=JAN)
            .order_by("id")
            .values_list("id", "amount", "explanation")
        )
        == closed
    )
    # Every statement's total is the sum of its lines.
    for statement in Statement.objects.filter(
        tenant=world.tenant, run__status__in=[CalcRun.Status.PREVIEW, CalcRun.Status.PUBLISHED]
    ):
        lines = statement.lines.aggregate(total=Sum("amount"))["total"] or D("0.00")
        assert statement.total == lines
    raise Rollback


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=deals)
def test_run_invariants_hold_for_any_deals(planned, rows):
    with pytest.raises(Rollback), transaction.atomic():
        check_invariants(planned, rows)
