"""Celery tasks of the pipeline pillar: thin wrappers around the services."""

from __future__ import annotations

from pipeline import importing
from spm.models import Tenant
from spm.tasks import tenant_task


@tenant_task(atomic=False, name=importing.IMPORT_RUN_TASK)
def import_run(tenant: Tenant, batch_id: int) -> None:
    """Import an uploaded CSV batch (``pipeline.importing.import_batch_run``).

    Runs outside one big transaction so its progress is visible while it runs;
    safe to run twice (the upsert by external id is idempotent)."""
    importing.import_batch_run(tenant, batch_id=batch_id)
