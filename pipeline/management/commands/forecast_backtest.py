"""``manage.py forecast_backtest``: the accuracy of every method over past
quarters, as of the start, week 4, week 8 and one week before the end."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.forecast.backtest import accuracy_summary, backtest_period, periods_to_backtest
from pipeline.models import AsOfPoint, SubjectKind
from pipeline.services import tenant_today
from spm.models import Tenant
from spm.tenancy.context import tenant_context


class Command(BaseCommand):
    help = (
        "Backtest the forecasts of the last N quarters of each tenant (or one): "
        "rep and manager calls, weighted pipeline and statistical forecast against "
        "actual bookings, using only what was known at each point; stores the rows "
        "the accuracy page reads and prints the mean accuracy and bias per method."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="slug of one tenant (default: every tenant)")
        parser.add_argument("--quarters", type=int, default=6)
        parser.add_argument(
            "--point",
            action="append",
            choices=AsOfPoint.values,
            help="as-of points (repeat; default: all four)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.order_by("slug")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"no tenant {options['tenant']!r}")
        if options["quarters"] < 1:
            raise CommandError("--quarters: give 1 or more")
        points = options["point"] or list(AsOfPoint.values)
        for tenant in tenants:
            self._tenant(tenant, quarters=options["quarters"], points=points)

    def _tenant(self, tenant: Tenant, *, quarters: int, points: list[str]) -> None:
        with tenant_context(tenant):
            periods = periods_to_backtest(tenant, today=tenant_today(tenant), count=quarters)
            started = time.perf_counter()
            for period in periods:
                backtest_period(tenant, period=period, points=points)
            seconds = time.perf_counter() - started
            self.stdout.write(
                f"{tenant.slug}: {len(periods)} quarters "
                f"({', '.join(p.label for p in periods)}) in {seconds:.1f} s"
            )
            ids = [p.pk for p in periods]
            for point in points:
                for kind in (SubjectKind.TEAM, SubjectKind.MEMBER, SubjectKind.COMPANY):
                    for row in accuracy_summary(
                        tenant, point=point, subject_kind=kind, period_ids=ids
                    ):
                        if row.subjects:
                            self.stdout.write(
                                f"  {point:<9} {kind:<7} {row.label:<21} accuracy {row.accuracy}"
                                f"  bias {row.bias:+}  ({row.subjects} subject-quarters)"
                            )
