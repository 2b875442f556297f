"""The pipeline's own signal, and receivers for the core's events (a lower
app telling a higher one)."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from pipeline.services import pipeline_create_default
from spm.models import Tenant
from spm.tenancy.context import tenant_context

# Sent inside the transaction of a bulk write that bypasses save() (CSV import,
# bulk upsert API), once per batch: ``sender`` is the model, ``tenant`` the
# tenant, ``instances`` the rows created or changed (rows loaded before the
# write keep what their post_init receivers noted of their old values), and
# ``stage_entered`` the ids of deals that entered a stage (new or moved). Higher apps (kpis)
# listen instead of reading the pipeline's tables after the fact.
rows_written = Signal()


def tenant_created(
    sender: type[Tenant], instance: Tenant, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new tenant starts with the default New Business pipeline and its stages."""
    if not created or raw:
        return
    with tenant_context(instance):
        pipeline_create_default(instance)
