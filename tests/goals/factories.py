"""Factories of the goals pillar. They build through the services, so every
quota has its history row and every goal passed the SMART check.

Call them inside ``tenant_context(tenant)`` and pass ``tenant`` and ``actor``
(a Membership allowed to write the object) explicitly.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory

from goals import services
from goals.models import Goal, Metric, Objective, Quota
from spm.models import FiscalPeriod


def period(tenant: Any, kind: str, fiscal_year: int, number: int = 1) -> FiscalPeriod:
    """The tenant's month/quarter/year period by number (Q1 is number 1)."""
    return FiscalPeriod.objects.get(
        tenant=tenant, kind=kind, fiscal_year=fiscal_year, number=number
    )


class QuotaFactory(factory.Factory):
    class Meta:
        model = Quota

    amount = Decimal("90000.00")

    @classmethod
    def _create(
        cls, model_class: type, *args: Any, tenant: Any, actor: Any, **kwargs: Any
    ) -> Quota:
        return services.quota_set(tenant, actor=actor, **kwargs)


class GoalFactory(factory.Factory):
    class Meta:
        model = Goal

    level = "company"
    title = factory.Sequence(lambda n: f"Grow new business bookings by twenty percent {n}")
    metric = Metric.BOOKINGS
    target_value = Decimal("1200000")
    rationale = "New logos fund next year's expansion plan"
    start_date = dt.date(2027, 1, 1)
    due_date = dt.date(2027, 12, 31)

    @classmethod
    def _create(cls, model_class: type, *args: Any, tenant: Any, actor: Any, **kwargs: Any) -> Goal:
        return services.goal_create(tenant, actor=actor, **kwargs)


class ObjectiveFactory(factory.Factory):
    class Meta:
        model = Objective

    title = factory.Sequence(lambda n: f"Objective {n}")
    weight = Decimal("0.25")

    @classmethod
    def _create(
        cls, model_class: type, *args: Any, tenant: Any, actor: Any, **kwargs: Any
    ) -> Objective:
        return services.objective_create(tenant, actor=actor, **kwargs)


def rep1_objective(world: Any, **kwargs: Any) -> Objective:
    """An objective of ``world.rep1`` set by their manager (pass ``period``, ...)."""
    return ObjectiveFactory(
        tenant=world.tenant, actor=world.manager, membership=world.rep1, **kwargs
    )
