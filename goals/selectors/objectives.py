"""Objective reads: visibility by role and a member's scored sets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from goals.engine import mbo_counted, mbo_score
from goals.models import Objective, ObjectiveScore
from spm.models import FiscalPeriod, Membership, Tenant
from spm.reach import Reach


def objectives_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[Objective]:
    """Objectives of the members ``viewer`` may see."""
    return Objective.objects.filter(Reach(viewer).own("membership"), tenant=tenant)


def objective_scores_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[ObjectiveScore]:
    return ObjectiveScore.objects.filter(Reach(viewer).own("objective__membership"), tenant=tenant)


@dataclass
class ObjectiveSet:
    membership: Membership
    period: FiscalPeriod
    objectives: list[Objective]

    @property
    def weight_total(self) -> Decimal:
        return sum((o.weight for o in self.objectives), Decimal(0))

    @property
    def is_complete(self) -> bool:
        return self.weight_total == 1

    @property
    def scored(self) -> bool:
        return bool(self.objectives) and all(o.current_score is not None for o in self.objectives)

    @property
    def score(self) -> Decimal | None:
        """The weighted score once every objective is scored and the weights add up to 100%."""
        if not self.scored or not self.is_complete:
            return None
        return mbo_score(
            [
                (o.weight, mbo_counted(o.current_score or Decimal(0), o.score_cap))
                for o in self.objectives
            ]
        )


def objective_sets(
    tenant: Tenant,
    *,
    viewer: Membership,
    period: FiscalPeriod | None = None,
    membership: Membership | None = None,
) -> list[ObjectiveSet]:
    """Each (member, period) set of objectives ``viewer`` may see, with scores. Two queries."""
    qs = (
        objectives_visible(tenant, viewer=viewer)
        .select_related("membership__user", "period")
        .prefetch_related(Prefetch("scores", queryset=ObjectiveScore.objects.filter(tenant=tenant)))
        .order_by("period__start", "membership__user__last_name", "membership_id", "position", "id")
    )
    if period is not None:
        qs = qs.filter(period=period)
    if membership is not None:
        qs = qs.filter(membership=membership)
    sets: dict[tuple[int, int], ObjectiveSet] = {}
    for obj in qs:
        scores = list(obj.scores.all())
        obj.current_score = scores[0].score if scores else None  # type: ignore[attr-defined]
        obj.current_score_row = scores[0] if scores else None  # type: ignore[attr-defined]
        obj.counted_score = (  # type: ignore[attr-defined]
            mbo_counted(scores[0].score, obj.score_cap) if scores else None
        )
        obj.weighted_score = (  # type: ignore[attr-defined]
            obj.weight * obj.counted_score if scores else None  # type: ignore[attr-defined]
        )
        key = (obj.membership_id, obj.period_id)
        if key not in sets:
            sets[key] = ObjectiveSet(membership=obj.membership, period=obj.period, objectives=[])
        sets[key].objectives.append(obj)
    return list(sets.values())
