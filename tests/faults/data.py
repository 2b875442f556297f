"""The small sales world the fault tests compute over: an active commission
plan for rep1, a quarter quota, and deals won in January and February 2027."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from goals.models import Measure, Quota
from incentives import services as incentive_services
from incentives.models import CalcRun, Statement, VersionStatus
from incentives.services.runs import RUN_KIND
from kpis.models import KpiValue
from spm.models import FiscalPeriod, Tenant
from spm.services import task_run_create
from spm.tenancy.context import tenant_context
from tests.conftest import TenantWorld
from tests.kpis.factories import lost_deal, won_deal

PLAN = {
    "schema_version": 1,
    "name": "AE FY2027",
    "effective_from": "2027-01-01",
    "components": [
        {
            "key": "bookings",
            "measure": "credited_bookings",
            "period": "quarter",
            "payout_frequency": "month",
            "rate_table": [
                {"from": "0", "to": "50", "rate": "2"},
                {"from": "50", "to": "100", "rate": "8"},
                {"from": "100", "rate": "12"},
            ],
        }
    ],
}


def period(tenant: Tenant, kind: str, start: dt.date) -> FiscalPeriod:
    return FiscalPeriod.objects.get(tenant=tenant, kind=kind, start=start)


def sales_data(world: TenantWorld) -> None:
    """Write the world's plan, quota and deals (a rep1 January of 1,800.00:
    60,000 of a 100,000 quarter quota, 50,000 at 2% and 10,000 at 8%)."""
    t = world.tenant
    with tenant_context(t):
        version = incentive_services.plan_version_create(
            t, source=PLAN, actor=world.admin, status=VersionStatus.ACTIVE
        )
        for member in (world.rep1, world.rep2):
            incentive_services.assignment_create(
                t,
                membership=member,
                version=version,
                start_date=dt.date(2027, 1, 1),
                end_date=None,
                target_incentive=Decimal("0.00"),
                actor=world.admin,
            )
            Quota.objects.create(
                tenant=t,
                period=period(t, "quarter", dt.date(2027, 1, 1)),
                membership=member,
                measure=Measure.BOOKINGS,
                amount=Decimal("100000.00"),
            )
        won_deal(t, world.rep1, "60000.00", dt.date(2026, 12, 1), dt.date(2027, 1, 20))
        won_deal(t, world.rep2, "30000.00", dt.date(2026, 11, 5), dt.date(2027, 1, 25))
        won_deal(t, world.rep1, "15000.00", dt.date(2026, 3, 2), dt.date(2026, 6, 30))
        lost_deal(t, world.rep2, "25000.00", dt.date(2026, 2, 1), dt.date(2026, 9, 15))


def kpi_snapshot(tenant: Tenant) -> dict[tuple[int, str, int, str], Decimal]:
    """Every KPI value of the tenant by (period, subject kind, subject, KPI)."""
    with tenant_context(tenant):
        rows = KpiValue.objects.filter(tenant=tenant).values_list(
            "period_id", "subject_kind", "subject_id", "kpi", "value"
        )
        return {(p, k, s, kpi): v for p, k, s, kpi, v in rows}


def statement_totals(tenant: Tenant, run_id: int) -> list[tuple[str, Decimal]]:
    """(member's email, total) of each statement of run ``run_id``."""
    with tenant_context(tenant):
        rows = Statement.objects.filter(tenant=tenant, run_id=run_id).values_list(
            "membership__user__email", "total"
        )
        return sorted((email.split("@")[0], total) for email, total in rows)


def undisturbed_run(tenant: Tenant, month: dt.date) -> CalcRun:
    """A preview run of ``month`` computed here, in this process (no task sent):
    the figures a disturbed run must reach."""
    with tenant_context(tenant):
        jan = period(tenant, "month", month)
        task = task_run_create(tenant, kind=RUN_KIND, label=f"Commission run {jan.label}")
        run = CalcRun.objects.create(tenant=tenant, period=jan, task_run=task)
    return incentive_services.calc_run_execute(tenant, run_id=run.pk)
