"""A published January 2027 statement for rep1 (tests of acknowledgements,
disputes, notifications, diffs and payroll).

The plan pays the marginal table of docs/formulas.md section 4 on a quarterly
quota of 100,000.00, monthly. Deals: 60,000.00 on Jan 20 and 10,000.00 on Jan
25, so January pays 50,000 x 2% + 20,000 x 8% = 2,600.00 in three lines."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

from goals.models import Measure, Quota
from incentives import services
from incentives.models import CalcRun, Statement, VersionStatus
from spm.models import FiscalPeriod
from tests.pipeline.factories import DealFactory, stage_named

D = Decimal
JAN1 = dt.date(2027, 1, 1)
BANDS = [
    {"from": "0", "to": "50", "rate": "2"},
    {"from": "50", "to": "100", "rate": "8"},
    {"from": "100", "to": "150", "rate": "12"},
    {"from": "150", "rate": "15"},
]


def plan_document(bands: list[dict] | None = None) -> dict:
    return {
        "schema_version": 1,
        "name": "AE FY2027",
        "effective_from": "2027-01-01",
        "components": [
            {
                "key": "bookings",
                "measure": "credited_bookings",
                "period": "quarter",
                "payout_frequency": "month",
                "rate_table": copy.deepcopy(bands or BANDS),
            }
        ],
    }


def period(tenant, kind: str, start: dt.date) -> FiscalPeriod:
    return FiscalPeriod.objects.get(tenant=tenant, kind=kind, start=start)


def won(world, amount: str, day: dt.date, owner=None):
    return DealFactory(
        tenant=world.tenant,
        owner=owner or world.rep1,
        amount=D(amount),
        stage=stage_named(world.tenant, "Closed won"),
        expected_close_date=day,
        close_date=day,
    )


def setup_plan(world, members=None):
    version = services.plan_version_create(
        world.tenant, source=plan_document(), actor=world.admin, status=VersionStatus.ACTIVE
    )
    q1 = period(world.tenant, "quarter", JAN1)
    for member in members or [world.rep1]:
        services.assignment_create(
            world.tenant,
            membership=member,
            version=version,
            start_date=JAN1,
            end_date=None,
            target_incentive=D("0.00"),
            actor=world.admin,
        )
        Quota.objects.create(
            tenant=world.tenant,
            period=q1,
            membership=member,
            measure=Measure.BOOKINGS,
            amount=D("100000.00"),
        )
    return version


def approve_and_publish(world, run: CalcRun, *, requester=None) -> CalcRun:
    """Ask for finance's approval of ``run`` (the admin, unless told), approve
    it as finance and publish it."""
    approval = services.approval_request(world.tenant, actor=requester or world.admin, run=run)
    services.approval_decide(world.tenant, approval=approval, actor=world.finance, approve=True)
    return services.calc_run_publish(world.tenant, run=run, actor=world.finance)


def run_period(world, kind: str = "month", start: dt.date = JAN1) -> CalcRun:
    run = services.calc_run_start(
        world.tenant, period=period(world.tenant, kind, start), actor=world.finance
    )
    return services.calc_run_execute(world.tenant, run_id=run.pk)


def published_january(world) -> Statement:
    """Rep1's published January statement (2,600.00)."""
    setup_plan(world)
    won(world, "60000.00", dt.date(2027, 1, 20))
    won(world, "10000.00", dt.date(2027, 1, 25))
    run = run_period(world)
    approve_and_publish(world, run)
    return Statement.objects.get(tenant=world.tenant, run=run, membership=world.rep1)
