"""The foreign key between two tenant models: the tenant travels with the key.

Every tenant table's database primary key is ``(tenant_id, id)``, so a
foreign key between tenant tables is ``(tenant_id, x_id) REFERENCES
target (tenant_id, id)`` (``docs/architecture.md``, "Tenant keys"). Django
cannot create that constraint itself, so a ``TenantForeignKey`` never lets
Django create a database constraint; the migration helper
``spm.db.tenant_keys.TenantKeys`` creates the composite one.

In queries the tenant travels too:

- every join over the key (``select_related``, filters and ordering across
  the relation, reverse relations) carries ``target.tenant_id =
  source.tenant_id`` besides ``target.id = source.x_id``;
- ``instance.x`` fetches the target with ``tenant_id`` in its ``WHERE``.

So a distributed database (Citus, distributed by ``tenant_id``) can route
every statement to the tenant's shard, and PostgreSQL reads the target by its
``(tenant_id, id)`` primary key.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import models
from django.db.models.lookups import Exact


class TenantForeignKey(models.ForeignKey):
    """A ``ForeignKey`` from a tenant model to a tenant model.

    ``db_constraint=False`` means no database constraint at all (for derived
    tables written in bulk); otherwise ``TenantKeys`` in the migration creates
    the composite constraint. The ORM side (joins, fetches) is the same either
    way.
    """

    def __init__(
        self, to: Any, on_delete: Any, *, db_constraint: bool = True, **kwargs: Any
    ) -> None:
        self.tenant_constraint = db_constraint
        kwargs["db_constraint"] = False
        super().__init__(to, on_delete, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("db_constraint", None)
        if not self.tenant_constraint:
            kwargs["db_constraint"] = False
        return name, path, args, kwargs

    def get_extra_restriction(self, alias: str | None, related_alias: str | None) -> Any:
        """``target.tenant_id = source.tenant_id`` in every join over this key.

        ``alias`` is the target table's alias, ``related_alias`` the alias of
        the table holding the key (Django swaps them for reverse joins). A
        subquery pushdown passes no target alias: no condition then.
        """
        if alias is None or related_alias is None:
            return None
        target_tenant = cast(models.ForeignKey, self.related_model._meta.get_field("tenant"))
        source_tenant = cast(models.ForeignKey, self.model._meta.get_field("tenant"))
        return Exact(target_tenant.get_col(alias), source_tenant.get_col(related_alias))

    def get_extra_descriptor_filter(self, instance: models.Model) -> dict[str, Any]:
        """``instance.x`` reads the target within the instance's tenant."""
        return {"tenant_id": instance.tenant_id}  # type: ignore[attr-defined]
