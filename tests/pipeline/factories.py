"""Factories of the pipeline pillar. They build through the services, so every
deal has its stage history and splits exactly as in production.

Call them inside ``tenant_context(tenant)`` and pass ``tenant`` (and the
``owner`` / ``member``) explicitly.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory

from pipeline import services
from pipeline.models import Account, Activity, ActivityKind, Deal, Lead, Pipeline, Stage


def stage_named(tenant: Any, name: str, pipeline: Pipeline | None = None) -> Stage:
    qs = Stage.objects.filter(tenant=tenant, name=name)
    if pipeline is not None:
        qs = qs.filter(pipeline=pipeline)
    return qs.order_by("pipeline__position", "id").first()  # type: ignore[return-value]


class AccountFactory(factory.Factory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n:03d}")
    segment = "Mid-market"
    industry = "Software"

    @classmethod
    def _create(
        cls, model_class: type, *args: Any, tenant: Any, actor: Any = None, **kwargs: Any
    ) -> Account:
        return services.account_create(tenant, actor=actor, **kwargs)


class DealFactory(factory.Factory):
    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Deal {n:03d}")
    amount = Decimal("10000.00")
    expected_close_date = dt.date(2027, 3, 31)

    @classmethod
    def _create(
        cls,
        model_class: type,
        *args: Any,
        tenant: Any,
        actor: Any = None,
        stage: Stage | str = "Qualification",
        **kwargs: Any,
    ) -> Deal:
        if isinstance(stage, str):
            stage = stage_named(tenant, stage)
        return services.deal_create(tenant, actor=actor, stage=stage, **kwargs)


class LeadFactory(factory.Factory):
    class Meta:
        model = Lead

    name = factory.Sequence(lambda n: f"Lead {n:03d}")
    company = "Initech"
    awareness_on = dt.date(2027, 1, 10)

    @classmethod
    def _create(
        cls, model_class: type, *args: Any, tenant: Any, actor: Any = None, **kwargs: Any
    ) -> Lead:
        return services.lead_create(tenant, actor=actor, **kwargs)


class ActivityFactory(factory.Factory):
    class Meta:
        model = Activity

    kind = ActivityKind.CALL
    subject = "Discovery call"
    occurred_on = dt.date(2027, 2, 1)
    outcome = "Connected"

    @classmethod
    def _create(
        cls, model_class: type, *args: Any, tenant: Any, actor: Any = None, **kwargs: Any
    ) -> Activity:
        return services.activity_create(tenant, actor=actor, **kwargs)
