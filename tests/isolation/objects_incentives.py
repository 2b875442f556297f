"""Objects of the incentives pillar for the isolation tests (see test_discovery.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from incentives import services
from incentives.models import Credit, Statement, StatementLine
from spm.models import FiscalPeriod
from tests.pipeline.factories import DealFactory, stage_named

DOCUMENT = {
    "schema_version": 1,
    "name": "Isolation plan",
    "effective_from": "2027-01-01",
    "components": [
        {
            "key": "bookings",
            "measure": "credited_bookings",
            "rate_table_on": "amount",
            "rate_table": [{"from": "0", "rate": "10"}],
        }
    ],
}


def make_objects(world: Any) -> list[Any]:
    t, admin = world.tenant, world.admin
    jan = FiscalPeriod.objects.get(tenant=t, kind="month", start=dt.date(2027, 1, 1))
    version = services.plan_version_create(t, source=DOCUMENT, actor=admin)
    assignment = services.assignment_create(
        t,
        membership=world.rep1,
        version=version,
        start_date=dt.date(2027, 1, 1),
        end_date=None,
        target_incentive=Decimal("1000.00"),
        actor=admin,
    )
    DealFactory(
        tenant=t,
        owner=world.rep1,
        amount=Decimal("5000.00"),
        stage=stage_named(t, "Closed won"),
        expected_close_date=dt.date(2027, 1, 12),
        close_date=dt.date(2027, 1, 12),
    )
    adjustment = services.adjustment_create(
        t,
        membership=world.rep1,
        period=jan,
        amount=Decimal("25.00"),
        reason="isolation",
        actor=admin,
    )
    run = services.calc_run_start(t, period=jan, actor=admin)
    run = services.calc_run_execute(t, run_id=run.pk)
    statement = Statement.objects.get(tenant=t, run=run)
    line = StatementLine.objects.filter(tenant=t, statement=statement).first()
    credit = Credit.objects.get(tenant=t, recipient=world.rep1)
    return [version.plan, version, assignment, adjustment, run, statement, line, credit]
