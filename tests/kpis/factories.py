"""Helpers of the KPI tests: deals through the pipeline services (so splits
and stage history are as in production), quotas through the goals services,
and reading snapshots back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from kpis import services
from kpis.models import KpiValue
from spm.models import FiscalPeriod
from tests.pipeline.factories import DealFactory, stage_named


def period(tenant: Any, kind: str, fiscal_year: int = 2027, number: int = 1) -> FiscalPeriod:
    return FiscalPeriod.objects.get(
        tenant=tenant, kind=kind, fiscal_year=fiscal_year, number=number
    )


def won_deal(tenant: Any, owner: Any, amount: str, created: dt.date, closed: dt.date, **kw: Any):
    return DealFactory(
        tenant=tenant,
        owner=owner,
        amount=Decimal(amount),
        stage=stage_named(tenant, "Closed won"),
        created_on=created,
        close_date=closed,
        expected_close_date=closed,
        **kw,
    )


def lost_deal(tenant: Any, owner: Any, amount: str, created: dt.date, closed: dt.date, **kw: Any):
    return DealFactory(
        tenant=tenant,
        owner=owner,
        amount=Decimal(amount),
        stage=stage_named(tenant, "Closed lost"),
        created_on=created,
        close_date=closed,
        expected_close_date=closed,
        lost_reason="Price",
        **kw,
    )


def open_deal(tenant: Any, owner: Any, amount: str, created: dt.date, expected: dt.date, **kw: Any):
    return DealFactory(
        tenant=tenant,
        owner=owner,
        amount=Decimal(amount),
        stage=stage_named(tenant, kw.pop("stage", "Proposal and negotiation")),
        created_on=created,
        expected_close_date=expected,
        **kw,
    )


def recompute(tenant: Any, *periods: FiscalPeriod) -> int:
    return services.kpi_recompute(tenant, period_ids=[p.pk for p in periods])


def value(
    tenant: Any, period_: FiscalPeriod, kind: str, subject_id: int, kpi: str
) -> Decimal | None:
    return KpiValue.objects.get(
        tenant=tenant, period=period_, subject_kind=kind, subject_id=subject_id, kpi=kpi
    ).value


def values(
    tenant: Any, period_: FiscalPeriod, kind: str, subject_id: int
) -> dict[str, Decimal | None]:
    return dict(
        KpiValue.objects.filter(
            tenant=tenant, period=period_, subject_kind=kind, subject_id=subject_id
        ).values_list("kpi", "value")
    )
