"""Objects of the core for the isolation tests (see test_discovery.py)."""

from __future__ import annotations

from typing import Any

from spm import services
from spm.models import FiscalPeriod


def make_objects(world: Any) -> list[Any]:
    run = services.task_run_create(
        world.tenant, kind="demo.run", label="Isolation run", created_by=world.admin
    )
    period = FiscalPeriod.objects.filter(tenant=world.tenant, kind="month").first()
    return [world.team, world.root_team, world.rep1, world.admin, period, run]
