"""Import a CSV file of accounts, deals, leads or activities into a tenant.

    manage.py pipeline_import --tenant acme --kind deals export.csv
        [--map stage="Deal Stage" --map owner="Deal owner"] [--as admin@acme.test]
        [--skip-bad-rows] [--dry-run]

Same rules as the import page: every row is validated first, bad rows are
listed with their line number, field and reason, and by default nothing is
written when any row is bad. Exit status 1 when rows were rejected.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from pipeline import importing
from pipeline.models import ImportKind
from spm.models import Membership, Tenant
from spm.tenancy.context import tenant_context


class Command(BaseCommand):
    help = "Import a CSV file (accounts, deals, leads or activities) into a tenant, all or nothing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--kind", required=True, choices=ImportKind.values)
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar='FIELD="Column"',
            help="Map a field to a column, overriding the recognised headers",
        )
        parser.add_argument(
            "--as", dest="actor", help="Email of the member recorded as the importer"
        )
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Import the good rows and report the bad ones",
        )
        parser.add_argument("--dry-run", action="store_true", help="Validate only; write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug '{options['tenant']}'.")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        mapping = {}
        for item in options["map"]:
            field, sep, column = item.partition("=")
            if not sep:
                raise CommandError(f'Write --map as FIELD="Column" (got {item!r}).')
            mapping[field.strip()] = column.strip().strip('"')
        try:
            content = importing.decode_upload(path.read_bytes())
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        started = time.monotonic()
        with tenant_context(tenant):
            actor = None
            if options["actor"]:
                actor = (
                    Membership.objects.select_related("user")
                    .filter(tenant=tenant, user__email__iexact=options["actor"])
                    .first()
                )
                if actor is None:
                    raise CommandError(f"{options['actor']} is not a member of {tenant.name}.")
            try:
                result, errors, used = importing.import_file(
                    tenant,
                    kind=options["kind"],
                    content=content,
                    actor=actor,
                    mapping=mapping,
                    all_or_nothing=not options["skip_bad_rows"],
                    dry_run=options["dry_run"],
                )
            except ValidationError as exc:
                raise CommandError(
                    "; ".join(
                        f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
                    )
                ) from None
        elapsed = time.monotonic() - started
        self.stdout.write("Columns: " + ", ".join(f"{f} <- {c!r}" for f, c in used.items()))
        for error in errors:
            self.stderr.write(f"line {error.row}: {error.field}: {error.message}")
        if result is None:
            if errors:
                bad = len({e.row for e in errors})
                self.stderr.write(
                    self.style.ERROR(
                        f"{bad} row{'s' if bad != 1 else ''} with errors; nothing was imported."
                    )
                )
                raise SystemExit(1)
            self.stdout.write(
                self.style.SUCCESS("Dry run: every row is valid; nothing was written.")
            )
            return
        extra = ""
        if result.accounts_created:
            extra += f", {result.accounts_created} accounts created"
        if result.skipped:
            extra += f", {result.skipped} bad rows skipped"
        summary = f"{result.created} created, {result.updated} updated"
        summary += f", {result.unchanged} unchanged"
        self.stdout.write(self.style.SUCCESS(f"{summary}{extra} in {elapsed:.2f}s."))
        if errors:
            raise SystemExit(1)
