from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper
from django.db.backends.postgresql.operations import (
    DatabaseOperations as PostgresOperations,
)

from spm.db.postgresql.features import DatabaseFeatures


class DatabaseOperations(PostgresOperations):
    compiler_module = "spm.db.postgresql.compiler"

    def sql_flush(self, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        """``manage.py flush`` (and the test runner between transactional tests)
        empties every table but the append-only ones (``TenantModel.append_only``,
        the audit trail): the runtime role may not truncate them."""
        append_only = {
            model._meta.db_table
            for model in apps.get_models()
            if getattr(model, "append_only", False)
        }
        return super().sql_flush(
            style, [table for table in tables if table not in append_only], **kwargs
        )


class DatabaseWrapper(PostgresDatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
