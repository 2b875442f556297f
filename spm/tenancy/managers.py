"""Managers that scope every query to the current tenant and fail closed."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.sql.compiler import SQLCompiler

from spm.tenancy.context import NoTenantError, current_tenant


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Any) -> TenantQuerySet:
        return self.filter(tenant=tenant)


class NoTenantGuard(models.Expression):
    """A condition that refuses to become SQL: the filter of a scoped queryset
    built with no tenant in context. Building the queryset is fine (forms,
    filters and serializer fields declare theirs at import time); running it
    raises ``NoTenantError`` naming the model."""

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def __repr__(self) -> str:
        return f"NoTenantGuard({self.label})"

    def as_sql(self, compiler: SQLCompiler, connection: Any, **extra: Any) -> Any:
        raise NoTenantError(
            f"{self.label}.objects was queried with no tenant in context: build the "
            "queryset inside tenant_context(tenant) (pages, the API and tenant tasks "
            f"run in one), or use {self.label}.unscoped() for a deliberate "
            "cross-tenant read."
        )


class TenantManager(models.Manager):
    """Default manager of every tenant-owned model.

    Returns only the current tenant's rows. A queryset built with no tenant in
    context raises ``NoTenantError`` when it is evaluated (the database wall,
    RLS, would show no rows anyway). ``Model.unscoped()`` is the loud escape
    hatch (RLS still applies in the database).
    """

    _queryset_class = TenantQuerySet

    def get_queryset(self) -> TenantQuerySet:
        qs: TenantQuerySet = self._queryset_class(self.model, using=self._db)
        tenant = current_tenant()
        if tenant is None:
            return qs.filter(NoTenantGuard(self.model.__name__))
        return qs.filter(tenant_id=tenant.pk)


class UnscopedManager(models.Manager):
    _queryset_class = TenantQuerySet
