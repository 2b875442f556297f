"""Every write of the goals pillar: quotas, seasonality profiles, goals,
check-ins, objectives and scores.

Services take the tenant first and keyword-only arguments, own their
transaction, check the actor's scope and the closed-period rule, and write
their audit rows (and the quota history) in that transaction. They raise
``ValidationError`` naming the field at fault and ``PermissionDenied`` when
the actor may see but not change the object."""

from __future__ import annotations

from goals.services.allocation import (
    Allocation,
    AllocationMethod,
    AllocationPart,
    allocation_weights,
    quota_allocate,
    quota_spread,
)
from goals.services.checkins import checkin_add, checkin_delete, checkin_update
from goals.services.csv_import import ImportResult, quota_import_csv
from goals.services.goals import (
    GOAL_FIELDS,
    goal_approve,
    goal_close,
    goal_create,
    goal_delete,
    goal_permissions,
    goal_progress_record,
    goal_return,
    goal_submit,
    goal_update,
)
from goals.services.objectives import (
    ObjectiveInput,
    can_manage_objectives,
    objective_create,
    objective_delete,
    objective_score,
    objective_scores_save,
    objective_unscore,
    objective_update,
    objectives_replace,
)
from goals.services.quotas import (
    QuotaInput,
    quota_bulk_upsert,
    quota_cell_save,
    quota_delete,
    quota_set,
)
from goals.services.seasonality import seasonality_profile_delete, seasonality_profile_save

__all__ = [
    "QuotaInput",
    "quota_set",
    "quota_cell_save",
    "quota_delete",
    "quota_bulk_upsert",
    "AllocationMethod",
    "AllocationPart",
    "Allocation",
    "allocation_weights",
    "quota_allocate",
    "quota_spread",
    "seasonality_profile_save",
    "seasonality_profile_delete",
    "GOAL_FIELDS",
    "goal_create",
    "goal_permissions",
    "goal_update",
    "goal_submit",
    "goal_approve",
    "goal_return",
    "goal_close",
    "goal_delete",
    "goal_progress_record",
    "checkin_add",
    "checkin_update",
    "checkin_delete",
    "can_manage_objectives",
    "objective_create",
    "objective_update",
    "objective_delete",
    "ObjectiveInput",
    "objectives_replace",
    "objective_score",
    "objective_scores_save",
    "objective_unscore",
    "ImportResult",
    "quota_import_csv",
]
