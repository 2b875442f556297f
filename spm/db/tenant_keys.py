"""Tenant-led keys for tenant tables, one migration line per app's models.

Every tenant table's database primary key is ``(tenant_id, id)`` (Django's
``pk`` stays ``id``), and every foreign key between tenant tables is
``(tenant_id, x_id) REFERENCES target (tenant_id, id)``: the shape Citus
needs to distribute the schema by tenant, checked by
``tests/isolation/test_catalogue.py``. Foreign keys between tenant models are
``spm.tenancy.fields.TenantForeignKey`` fields, for which Django creates no
constraint; this operation creates theirs.

Usage, after the operations that create tenant models or add or change their
tenant foreign keys (and beside ``EnableRLS`` for a new table)::

    from spm.db.tenant_keys import TenantKeys
    operations = [
        migrations.CreateModel(name="Credit", ...),
        EnableRLS("incentives_credit"),
        TenantKeys("credit"),          # model names of this migration's app
    ]

For each model, in this order: the primary key becomes ``(tenant_id, id)``;
on a Citus deployment already distributed (``manage.py citus_distribute``),
a table not yet distributed is distributed into the tenant co-location group
(before its foreign keys, as Citus requires); then each tenant foreign key
gets its composite constraint (or loses it, with ``db_constraint=False``).
On plain PostgreSQL there is no Citus step. Running it again changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.db.migrations.operations.base import Operation

from spm.db.citus import citus_tables, deployment_distributed, distribute_sql
from spm.tenancy.fields import TenantForeignKey

MAX_NAME = 63


def fk_constraint_name(table: str, column: str) -> str:
    """``<table>_<column>_tfk``, shortened with a hash past PostgreSQL's 63 bytes."""
    name = f"{table}_{column}_tfk"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def primary_key_columns(cursor: Any, table: str) -> tuple[str | None, list[str]]:
    cursor.execute(
        """
        SELECT con.conname, array_agg(a.attname::text ORDER BY k.ord)
        FROM pg_constraint con
        CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
        WHERE con.conrelid = %s::regclass AND con.contype = 'p'
        GROUP BY con.conname
        """,
        [f'"{table}"'],
    )
    row = cursor.fetchone()
    return (row[0], list(row[1])) if row else (None, [])


def tenant_primary_key_sql(cursor: Any, table: str, columns: list[str]) -> list[str]:
    """Statements that make ``columns`` the primary key of ``table`` (none if it is).

    The old key is dropped with CASCADE: a foreign key on ``id`` alone cannot
    outlive it, and every tenant foreign key gets its composite constraint
    from its own app's ``TenantKeys``.
    """
    name, current = primary_key_columns(cursor, table)
    if current == columns:
        return []
    sql = [f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}" CASCADE'] if name else []
    cols = ", ".join(f'"{c}"' for c in columns)
    return [*sql, f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ({cols})']


def foreign_key_target(cursor: Any, table: str, name: str) -> str | None:
    cursor.execute(
        "SELECT confrelid::regclass::text FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND conname = %s AND contype = 'f'",
        [f'"{table}"', name],
    )
    row = cursor.fetchone()
    return row[0].strip('"') if row else None


def tenant_foreign_key_sql(cursor: Any, table: str, field: TenantForeignKey) -> list[str]:
    """Statements that give ``field`` its composite constraint, or drop it."""
    name = fk_constraint_name(table, field.column)
    target = field.related_model._meta.db_table
    current = foreign_key_target(cursor, table, name)
    wanted = target if field.tenant_constraint else None
    if current == wanted:
        return []
    sql = [f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'] if current else []
    if wanted:
        sql.append(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY '
            f'("tenant_id", "{field.column}") REFERENCES "{target}" ("tenant_id", "id") '
            "DEFERRABLE INITIALLY DEFERRED"
        )
    return sql


def tenant_foreign_keys(model: Any) -> list[TenantForeignKey]:
    return [f for f in model._meta.local_fields if isinstance(f, TenantForeignKey)]


class TenantKeys(Operation):
    """Tenant-led primary and foreign keys for the named models of this app."""

    reversible = True
    reduces_to_sql = False

    def __init__(self, *model_names: str) -> None:
        self.model_names = model_names

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def _models(self, app_label: str, state: Any) -> Iterable[Any]:
        return [state.apps.get_model(app_label, name) for name in self.model_names]

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        models = self._models(app_label, to_state)
        with schema_editor.connection.cursor() as cursor:
            for model in models:
                for sql in tenant_primary_key_sql(
                    cursor, model._meta.db_table, ["tenant_id", "id"]
                ):
                    schema_editor.execute(sql)
            if deployment_distributed(cursor):
                distributed = citus_tables(cursor)
                for model in models:
                    if model._meta.db_table not in distributed:
                        schema_editor.execute(distribute_sql(model._meta.db_table))
            for model in models:
                for field in tenant_foreign_keys(model):
                    for sql in tenant_foreign_key_sql(cursor, model._meta.db_table, field):
                        schema_editor.execute(sql)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        models = self._models(app_label, from_state)
        with schema_editor.connection.cursor() as cursor:
            for model in models:
                table = model._meta.db_table
                for field in tenant_foreign_keys(model):
                    name = fk_constraint_name(table, field.column)
                    schema_editor.execute(
                        f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"'
                    )
            for model in models:
                for sql in tenant_primary_key_sql(cursor, model._meta.db_table, ["id"]):
                    schema_editor.execute(sql)

    def describe(self) -> str:
        return f"Tenant-led primary and foreign keys for {', '.join(self.model_names)}"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__name__, list(self.model_names), {})

    @property
    def migration_name_fragment(self) -> str:
        return "tenant_keys"
