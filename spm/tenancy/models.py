"""The abstract base of every tenant-owned model (docs/architecture.md, "Tenancy: two walls")."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.db import models

from spm.tenancy.managers import TenantManager, TenantQuerySet, UnscopedManager


class TenantModel(models.Model):
    """Non-null tenant FK first, a scoped default manager, a loud escape.

    Subclasses get their RLS policy and their tenant-led keys in their
    migration (``spm.db.rls.EnableRLS("<table>")``,
    ``spm.db.tenant_keys.TenantKeys("<model>")``); foreign keys to other tenant
    models are ``spm.tenancy.fields.TenantForeignKey``. ``tests/isolation``
    fails when any of it is missing.

    A save updates ``WHERE tenant_id = <its tenant> AND id = <its id>`` and
    never sets ``tenant_id``: a row does not change tenants, and Citus routes
    the update by the tenant and refuses to modify it.
    """

    tenant = models.ForeignKey("spm.Tenant", on_delete=models.CASCADE, related_name="+")

    # An append-only table (the audit trail): the runtime role may insert and
    # read its rows, never update, delete or truncate them (``spm.db.roles``),
    # and deleting a tenant leaves them (``spm.services.tenant_delete``).
    append_only: ClassVar[bool] = False

    objects: ClassVar[TenantManager] = TenantManager()
    all_tenants: ClassVar[UnscopedManager] = UnscopedManager()

    class Meta:
        abstract = True
        base_manager_name = "all_tenants"

    def _do_update(
        self,
        base_qs: Any,
        using: Any,
        pk_val: Any,
        values: Any,
        update_fields: Any,
        forced_update: Any,
        returning_fields: Any,
    ) -> Any:
        values = [value for value in values if value[0].attname != "tenant_id"]
        return super()._do_update(  # type: ignore[misc]
            base_qs.filter(tenant_id=self.tenant_id),  # type: ignore[attr-defined]
            using,
            pk_val,
            values,
            update_fields,
            forced_update,
            returning_fields,
        )

    @classmethod
    def unscoped(cls) -> TenantQuerySet:
        """Every row the database lets this connection see (RLS still applies)."""
        return cast(TenantQuerySet, cls.all_tenants.get_queryset())
