"""Pages of the goals pillar: my targets, the quota grid (inline editing,
allocation, spreading, CSV), SMART goals with approval and check-ins, the
alignment tree, and MBO objectives with scoring. Thin: forms validate, the
services decide, the selectors read."""

from __future__ import annotations

from goals.views.base import GRID_ROLES, HUNDRED, VIEWS, GoalsPageMixin
from goals.views.goals import (
    AlignmentView,
    GoalActionView,
    GoalCheckInView,
    GoalDetailView,
    GoalFormView,
    GoalListView,
    GoalObjectMixin,
)
from goals.views.home import GoalsHomeView
from goals.views.objectives import ObjectiveListView, ObjectiveSetView, ObjectivesPageMixin
from goals.views.quotas import (
    QuotaAllocateView,
    QuotaCellView,
    QuotaExportView,
    QuotaGridView,
    QuotaHistoryView,
    QuotaImportView,
    QuotaSpreadView,
    TeamWriteMixin,
)

__all__ = [
    "GRID_ROLES",
    "VIEWS",
    "HUNDRED",
    "GoalsPageMixin",
    "GoalsHomeView",
    "QuotaGridView",
    "QuotaCellView",
    "TeamWriteMixin",
    "QuotaAllocateView",
    "QuotaSpreadView",
    "QuotaExportView",
    "QuotaImportView",
    "QuotaHistoryView",
    "GoalListView",
    "GoalFormView",
    "GoalObjectMixin",
    "GoalDetailView",
    "GoalActionView",
    "GoalCheckInView",
    "AlignmentView",
    "ObjectivesPageMixin",
    "ObjectiveListView",
    "ObjectiveSetView",
]
