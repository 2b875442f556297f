"""The abstract base of every tenant-owned model (STYLE.md habit 1)."""

from __future__ import annotations

from typing import ClassVar, cast

from django.db import models

from spm.tenancy.managers import TenantManager, TenantQuerySet, UnscopedManager


class TenantModel(models.Model):
    """Non-null tenant FK first, a scoped default manager, a loud escape.

    Subclasses get their RLS policy in their migration with
    ``spm.db.rls.EnableRLS("<table>")``; ``tests/isolation`` fails when one
    is missing.
    """

    tenant = models.ForeignKey("spm.Tenant", on_delete=models.CASCADE, related_name="+")

    objects: ClassVar[TenantManager] = TenantManager()
    all_tenants: ClassVar[UnscopedManager] = UnscopedManager()

    class Meta:
        abstract = True
        base_manager_name = "all_tenants"

    @classmethod
    def unscoped(cls) -> TenantQuerySet:
        """Every row the database lets this connection see (RLS still applies)."""
        return cast(TenantQuerySet, cls.all_tenants.get_queryset())
