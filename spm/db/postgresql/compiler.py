"""Django's PostgreSQL compilers; updates and deletes of tenant rows carry the tenant.

The deletion collector deletes by ``id IN (...)`` and sets ``NULL`` on related
rows by ``id IN (...)``; a queryset ``update()`` may filter on anything. With
a tenant in context, such a statement on a tenant table whose ``WHERE`` does
not name ``tenant_id`` gets ``tenant_id = <current tenant>``: Row Level
Security lets the statement touch only that tenant's rows anyway, so the
condition changes no result; it lets Citus route the statement to the
tenant's shard and PostgreSQL use the ``(tenant_id, id)`` primary key.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql.compiler import (
    SQLAggregateCompiler,
    SQLCompiler,
    SQLInsertCompiler,
)
from django.db.backends.postgresql.compiler import (
    SQLDeleteCompiler as PostgresDeleteCompiler,
)
from django.db.backends.postgresql.compiler import (
    SQLUpdateCompiler as PostgresUpdateCompiler,
)

from spm.db.postgresql.features import is_tenant_model
from spm.tenancy.context import current_tenant

__all__ = [
    "SQLAggregateCompiler",
    "SQLCompiler",
    "SQLDeleteCompiler",
    "SQLInsertCompiler",
    "SQLUpdateCompiler",
]


def _names_tenant(node: Any) -> bool:
    target = getattr(getattr(node, "lhs", None), "target", None)
    if target is not None and target.column == "tenant_id":
        return True
    return any(_names_tenant(child) for child in getattr(node, "children", ()))


def pin_to_current_tenant(query: Any) -> None:
    """Add ``tenant_id = <current tenant>`` to an update or delete of a tenant
    table whose ``WHERE`` does not name the tenant (nothing outside a tenant)."""
    tenant = current_tenant()
    if tenant is None or not is_tenant_model(query.model) or _names_tenant(query.where):
        return
    query.add_filter("tenant_id", tenant.pk)


class SQLDeleteCompiler(PostgresDeleteCompiler):
    def as_sql(self, *args: Any, **kwargs: Any) -> Any:
        pin_to_current_tenant(self.query)
        return super().as_sql(*args, **kwargs)


class SQLUpdateCompiler(PostgresUpdateCompiler):
    def as_sql(self, *args: Any, **kwargs: Any) -> Any:
        pin_to_current_tenant(self.query)
        return super().as_sql(*args, **kwargs)
