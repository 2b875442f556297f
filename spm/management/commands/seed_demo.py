"""Create the demo tenants: ``manage.py seed_demo [--seed 42] [--if-empty] [--reset]``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from spm.demo import ACME, GLOBEX, seed_demo
from spm.models import Tenant
from spm.services import tenant_delete


class Command(BaseCommand):
    help = "Create two demo tenants with a realistic sales org (deterministic with --seed)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="Pretend today is this date (YYYY-MM-DD)",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the demo tenants already exist"
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo tenants first, then create them again",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = [ACME.slug, GLOBEX.slug]
        existing = list(Tenant.objects.filter(slug__in=slugs))
        if existing and options["if_empty"]:
            self.stdout.write("Demo tenants already exist; nothing to do.")
            return
        if existing and not options["reset"]:
            raise CommandError(
                "Demo tenants exist; pass --reset to recreate them or --if-empty to skip."
            )
        for tenant in existing:
            tenant_delete(tenant)
        tenants = seed_demo(seed=options["seed"], today=options["today"])
        self.stdout.write(
            self.style.SUCCESS(
                "Created demo tenants: " + ", ".join(f"{t.name} (/{t.slug}/)" for t in tenants)
            )
        )
