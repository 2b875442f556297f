"""API of the goals pillar: quotas (with bulk upsert, allocation, spreading and
history), seasonality profiles, goals (with approval), check-ins, objectives
and objective scores. Same permissions as the pages; thin: every write goes
through ``goals.services``."""

from __future__ import annotations

from goals.api.base import SOURCE_HELP
from goals.api.checkins import CheckInSerializer, CheckInUpdateSerializer, CheckInViewSet
from goals.api.goals import (
    GoalCloseSerializer,
    GoalFilter,
    GoalReturnSerializer,
    GoalSerializer,
    GoalViewSet,
    GoalWriteSerializer,
    VisibleGoalField,
)
from goals.api.objectives import (
    ObjectiveFilter,
    ObjectiveScoreSerializer,
    ObjectiveScoreUpdateSerializer,
    ObjectiveScoreViewSet,
    ObjectiveSerializer,
    ObjectiveSetSerializer,
    ObjectiveUpdateSerializer,
    ObjectiveViewSet,
    VisibleObjectiveField,
)
from goals.api.quotas import (
    AllocateSerializer,
    AllocationPartSerializer,
    AllocationSerializer,
    QuotaAmountSerializer,
    QuotaBulkSerializer,
    QuotaChangeSerializer,
    QuotaFilter,
    QuotaSerializer,
    QuotaViewSet,
    SpreadSerializer,
)
from goals.api.seasonality import SeasonalityProfileSerializer, SeasonalityProfileViewSet
from spm.api.registry import tenant_router

__all__ = [
    "SOURCE_HELP",
    "QuotaSerializer",
    "QuotaAmountSerializer",
    "QuotaBulkSerializer",
    "QuotaChangeSerializer",
    "AllocateSerializer",
    "AllocationPartSerializer",
    "AllocationSerializer",
    "SpreadSerializer",
    "QuotaFilter",
    "QuotaViewSet",
    "SeasonalityProfileSerializer",
    "SeasonalityProfileViewSet",
    "VisibleGoalField",
    "GoalSerializer",
    "GoalWriteSerializer",
    "GoalReturnSerializer",
    "GoalCloseSerializer",
    "GoalFilter",
    "GoalViewSet",
    "CheckInSerializer",
    "CheckInUpdateSerializer",
    "CheckInViewSet",
    "ObjectiveSerializer",
    "ObjectiveUpdateSerializer",
    "ObjectiveSetSerializer",
    "ObjectiveFilter",
    "ObjectiveViewSet",
    "VisibleObjectiveField",
    "ObjectiveScoreSerializer",
    "ObjectiveScoreUpdateSerializer",
    "ObjectiveScoreViewSet",
]

tenant_router.register("quotas", QuotaViewSet, basename="quota")
tenant_router.register(
    "seasonality-profiles", SeasonalityProfileViewSet, basename="seasonality-profile"
)
tenant_router.register("goals", GoalViewSet, basename="goal")
tenant_router.register("goal-checkins", CheckInViewSet, basename="goal-checkin")
tenant_router.register("objectives", ObjectiveViewSet, basename="objective")
tenant_router.register("objective-scores", ObjectiveScoreViewSet, basename="objective-score")
