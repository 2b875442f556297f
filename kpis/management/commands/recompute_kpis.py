"""python manage.py recompute_kpis [--tenant SLUG] [--dirty]"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kpis import services
from spm.models import Tenant


class Command(BaseCommand):
    help = "Recompute every KPI of one tenant (--tenant) or of every tenant, in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Tenant slug (default: every tenant)")
        parser.add_argument(
            "--dirty", action="store_true", help="Only the periods changed since the last run"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.order_by("slug")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No tenant with the slug '{options['tenant']}'.")
        for tenant in tenants:
            started = time.perf_counter()
            if options["dirty"]:
                run = services.kpi_recompute_dirty(tenant)
                rows = run.rows if run else 0
            else:
                rows = services.kpi_recompute_full(tenant).rows
            elapsed = time.perf_counter() - started
            self.stdout.write(f"{tenant.slug}: {rows} KPI values in {elapsed:.2f}s")
