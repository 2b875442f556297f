"""Row Level Security for tenant tables, one migration line per table.

Usage in a migration, right after the CreateModel::

    from spm.db.rls import EnableRLS
    operations = [..., EnableRLS("pipeline_deal")]

The policy compares the row's ``tenant_id`` with the transaction-local
setting ``app.tenant_id`` (see spm.tenancy.context). With no setting, no row
is visible and no row can be written. FORCE makes the policy apply to the
table owner too; only superusers and BYPASSRLS roles skip it, and the runtime
role is neither.
"""

from __future__ import annotations

from typing import Any

from django.db.migrations.operations.base import Operation

POLICY_NAME = "tenant_isolation"
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"
USER_EXPR = "NULLIF(current_setting('app.user_id', true), '')::bigint"


def enable_sql(table: str, *, extra_using: str = "") -> list[str]:
    using = f"tenant_id = {TENANT_EXPR}"
    read_using = f"({using}){' OR (' + extra_using + ')' if extra_using else ''}"
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"',
        f'CREATE POLICY {POLICY_NAME} ON "{table}" USING ({read_using}) WITH CHECK ({using})',
    ]


def disable_sql(table: str) -> list[str]:
    return [
        f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]


class EnableRLS(Operation):
    """Enable and force RLS on ``table`` with the tenant policy.

    ``extra_using`` widens what may be *read* (never written), e.g. a user's own
    memberships across tenants for the tenant switcher.
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, extra_using: str = "") -> None:
        self.table = table
        self.extra_using = extra_using

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        for sql in enable_sql(self.table, extra_using=self.extra_using):
            schema_editor.execute(sql)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        for sql in disable_sql(self.table):
            schema_editor.execute(sql)

    def describe(self) -> str:
        return f"Enable row level security on {self.table}"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        if self.extra_using:
            kwargs["extra_using"] = self.extra_using
        return (self.__class__.__name__, [self.table], kwargs)

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.table}"
