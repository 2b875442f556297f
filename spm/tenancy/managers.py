"""Managers that scope every query to the current tenant and fail closed."""

from __future__ import annotations

from typing import Any

from django.db import models

from spm.tenancy.context import current_tenant


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Any) -> TenantQuerySet:
        return self.filter(tenant=tenant)


class TenantManager(models.Manager):
    """Default manager of every tenant-owned model.

    Returns only the current tenant's rows; with no tenant in context it
    returns no rows at all. ``Model.unscoped()`` is the loud escape hatch (RLS
    still applies in the database).
    """

    _queryset_class = TenantQuerySet

    def get_queryset(self) -> TenantQuerySet:
        qs: TenantQuerySet = self._queryset_class(self.model, using=self._db)
        tenant = current_tenant()
        if tenant is None:
            return qs.none()
        return qs.filter(tenant_id=tenant.pk)


class UnscopedManager(models.Manager):
    _queryset_class = TenantQuerySet
