"""``manage.py citus_distribute``: distribute the schema by tenant on Citus.

Run once on the coordinator after ``migrate`` (as the owner role, the default
``--database owner``), and again at will: it does only what is missing. See
README, "Running on Citus".
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction

from spm.db.citus import (
    PROPAGATE_SQL,
    DistributionError,
    citus_installed,
    citus_tables,
    distribute_sql,
    distribution_plan,
    reference_sql,
)


class Command(BaseCommand):
    help = (
        "On Citus: make the global tables the tenant tables refer to reference tables, "
        "distribute every tenant table by tenant_id in one co-location group, and have "
        "SET LOCAL reach the workers. Idempotent; refuses without the citus extension."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--database", default="owner", help="connection alias (the owner role)")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        database = connection.settings_dict["NAME"]
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            if not citus_installed(cursor):
                raise CommandError(
                    f"The citus extension is not installed in database {database!r}: this "
                    "command is for a Citus coordinator (CREATE EXTENSION citus; then add "
                    "the workers). Plain PostgreSQL needs nothing of it."
                )
            try:
                plan = distribution_plan(cursor)
            except DistributionError as exc:
                raise CommandError(str(exc)) from exc
            done = citus_tables(cursor)
            # Tables with foreign keys to reference tables are distributed in one
            # transaction only in sequential mode.
            cursor.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
            cursor.execute(PROPAGATE_SQL.format(database=connection.ops.quote_name(database)))
            for table in plan.reference:
                if done.get(table) != "reference":
                    cursor.execute(reference_sql(table))
                    self.stdout.write(f"reference table: {table}")
            pending = [t for t in plan.tenant if done.get(t) != "distributed"]
            moved = [fk for fk in plan.foreign_keys if fk.table in pending or fk.target in pending]
            for fk in moved:
                cursor.execute(fk.drop_sql())
            for table in pending:
                cursor.execute(distribute_sql(table))
                self.stdout.write(f"distributed by tenant_id: {table}")
            for fk in moved:
                cursor.execute(fk.add_sql())
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(plan.reference)} reference and {len(plan.tenant)} distributed tables "
                f"({len(pending)} distributed now, {len(moved)} foreign keys re-created); "
                "citus.propagate_set_commands = 'local' for new connections."
            )
        )
