"""The pipeline's receiver of the core's tenant creation (a lower app telling
a higher one, inside the creating transaction). Changes the pipeline makes
are told to the apps above it with ``spm.events``."""

from __future__ import annotations

from typing import Any

from pipeline.services import pipeline_create_default
from spm.models import Tenant
from spm.tenancy.context import tenant_context


def tenant_created(
    sender: type[Tenant], instance: Tenant, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new tenant starts with the default New Business pipeline and its stages."""
    if not created or raw:
        return
    with tenant_context(instance):
        pipeline_create_default(instance)
