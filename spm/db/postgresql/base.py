from __future__ import annotations

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper
from django.db.backends.postgresql.operations import (
    DatabaseOperations as PostgresOperations,
)

from spm.db.postgresql.features import DatabaseFeatures


class DatabaseOperations(PostgresOperations):
    compiler_module = "spm.db.postgresql.compiler"


class DatabaseWrapper(PostgresDatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
