"""Every write of the incentives pillar (plans, assignments, credits, runs)."""

from incentives.services.credits import credits_refresh
from incentives.services.plans import (
    assignment_create,
    known_kpis,
    plan_version_create,
    plan_version_update,
)
from incentives.services.runs import (
    adjustment_create,
    calc_run_execute,
    calc_run_previews_refresh,
    calc_run_publish,
    calc_run_start,
)

__all__ = [
    "adjustment_create",
    "assignment_create",
    "calc_run_execute",
    "calc_run_previews_refresh",
    "calc_run_publish",
    "calc_run_start",
    "credits_refresh",
    "known_kpis",
    "plan_version_create",
    "plan_version_update",
]
