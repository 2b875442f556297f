"""``manage.py plan_check FILE``: validate a plan document and run its examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incentives.document import PlanDocumentError, plan_document_load
from incentives.engine.golden import golden_run
from kpis.definitions import BUILT_IN
from kpis.models import CustomKpi
from spm.models import Tenant
from spm.tenancy.context import tenant_context


class Command(BaseCommand):
    help = (
        "Check a plan document (YAML or JSON): report every error with its path, "
        "then run its golden examples and print pass or fail for each."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--tenant", help="slug of the tenant whose custom KPIs the plan may use"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        try:
            known = _known_kpis(options["tenant"])
            document = plan_document_load(text, known_kpis=known)
        except PlanDocumentError as exc:
            for where, message in exc.errors:
                self.stderr.write(f"{path}: {where}: {message}")
            raise CommandError(f"{path}: {len(exc.errors)} error(s)") from exc
        results = golden_run(document)
        for result in results:
            self.stdout.write(result.describe())
        failed = [r for r in results if not r.passed]
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} example(s) failed")
        self.stdout.write(f"{path}: valid, {len(results)} example(s) passed")


def _known_kpis(slug: str | None) -> set[str]:
    """The built-in KPI keys, plus a tenant's custom ones (``custom:<key>``)."""
    known = {k.key for k in BUILT_IN}
    if slug is None:
        return known
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f"no tenant {slug!r}")
    with tenant_context(tenant):
        known |= {kpi.value_key for kpi in CustomKpi.objects.all()}
    return known
