"""Reads of the goals pillar that span roles, periods and models."""

from __future__ import annotations

from goals.selectors.goals import GoalNode, goal_tree, goals_visible, goals_writable_owner_scope
from goals.selectors.grid import GridCell, GridRow, GridSection, QuotaGrid, quota_grid
from goals.selectors.objectives import (
    ObjectiveSet,
    objective_scores_visible,
    objective_sets,
    objectives_visible,
)
from goals.selectors.quotas import (
    ZERO,
    QuotaScope,
    allocation_targets,
    effective_member_quota,
    previous_period,
    quota_history,
    quota_scope,
    quota_subject,
    quotas_visible,
    rep_ids_by_subtree,
)

__all__ = [
    "ZERO",
    "QuotaScope",
    "quota_scope",
    "quota_subject",
    "quotas_visible",
    "effective_member_quota",
    "allocation_targets",
    "rep_ids_by_subtree",
    "previous_period",
    "quota_history",
    "GridCell",
    "GridRow",
    "GridSection",
    "QuotaGrid",
    "quota_grid",
    "goals_visible",
    "goals_writable_owner_scope",
    "GoalNode",
    "goal_tree",
    "objectives_visible",
    "objective_scores_visible",
    "ObjectiveSet",
    "objective_sets",
]
