from __future__ import annotations

from typing import Any

from django.db.backends.postgresql.features import DatabaseFeatures as PostgresFeatures


def is_tenant_model(model: Any) -> bool:
    """A tenant model: a concrete model with the ``tenant`` column first-class."""
    return any(f.attname == "tenant_id" for f in model._meta.concrete_fields)


class DatabaseFeatures(PostgresFeatures):
    def allows_group_by_selected_pks_on_model(self, model: Any) -> bool:
        # ``id`` alone is no longer the primary key of a tenant table, so the
        # other columns are not functionally dependent on it.
        if is_tenant_model(model):
            return False
        return super().allows_group_by_selected_pks_on_model(model)
