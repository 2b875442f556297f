"""``migrate`` runs as the owner role unless told otherwise.

The runtime role (``default``) owns nothing and cannot create tables; the
owner alias does the schema work (docs/architecture.md, "Tenancy: two walls"). After
migrating, the runtime role is granted DML on every table and sequence, but
only INSERT and SELECT on append-only tables (``TenantModel.append_only``).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections

from spm.db.roles import grant_runtime_privileges


class Command(MigrateCommand):
    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database="owner")

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        append_only = sorted(
            model._meta.db_table
            for model in apps.get_models()
            if getattr(model, "append_only", False)
        )
        grant_runtime_privileges(
            connections[options["database"]],
            connections["default"],
            append_only_tables=append_only,
        )
