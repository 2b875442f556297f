"""API of the pipeline pillar: pipelines, stages, accounts, deals (with splits,
moves and history), leads, activities, and bulk upsert by ``external_id``.

Serializers validate shapes; every write goes through ``pipeline.services``
(single records) or ``pipeline.sync`` (bulk), the same functions the pages
and the CSV import use.
"""

from __future__ import annotations

from pipeline.api.accounts import AccountFilter, AccountSerializer, AccountViewSet
from pipeline.api.activities import ActivityFilter, ActivitySerializer, ActivityViewSet
from pipeline.api.bulk import BulkResultSerializer, BulkUpsertMixin, bulk_action
from pipeline.api.common import MAX_BULK_ITEMS, TenantFilterSet
from pipeline.api.deals import (
    DealFilter,
    DealMoveSerializer,
    DealSerializer,
    DealViewSet,
    SplitSerializer,
    StageChangeSerializer,
)
from pipeline.api.exchange_rates import ExchangeRateSerializer, ExchangeRateViewSet
from pipeline.api.forecast import (
    DealOddsViewSet,
    ForecastAccuracyViewSet,
    ForecastCallViewSet,
    ForecastRollupViewSet,
    ForecastTrendViewSet,
    StatForecastViewSet,
)
from pipeline.api.leads import LeadFilter, LeadSerializer, LeadViewSet
from pipeline.api.stages import (
    PipelineCreateSerializer,
    PipelineSerializer,
    PipelineViewSet,
    StageOrderSerializer,
    StageSerializer,
    StageUpdateSerializer,
    StageViewSet,
)
from spm.api.registry import tenant_router

__all__ = [
    "MAX_BULK_ITEMS",
    "TenantFilterSet",
    "BulkResultSerializer",
    "BulkUpsertMixin",
    "bulk_action",
    "StageSerializer",
    "StageUpdateSerializer",
    "PipelineSerializer",
    "PipelineCreateSerializer",
    "StageOrderSerializer",
    "PipelineViewSet",
    "StageViewSet",
    "ExchangeRateSerializer",
    "ExchangeRateViewSet",
    "AccountSerializer",
    "AccountFilter",
    "AccountViewSet",
    "SplitSerializer",
    "DealSerializer",
    "StageChangeSerializer",
    "DealMoveSerializer",
    "DealFilter",
    "DealViewSet",
    "LeadSerializer",
    "LeadFilter",
    "LeadViewSet",
    "ActivitySerializer",
    "ActivityFilter",
    "ActivityViewSet",
    "ForecastCallViewSet",
    "ForecastRollupViewSet",
    "ForecastTrendViewSet",
    "StatForecastViewSet",
    "DealOddsViewSet",
    "ForecastAccuracyViewSet",
]

tenant_router.register("pipelines", PipelineViewSet, basename="pipeline")
tenant_router.register("stages", StageViewSet, basename="stage")
tenant_router.register("exchange-rates", ExchangeRateViewSet, basename="exchange-rate")
tenant_router.register("accounts", AccountViewSet, basename="account")
tenant_router.register("deals", DealViewSet, basename="deal")
tenant_router.register("leads", LeadViewSet, basename="lead")
tenant_router.register("activities", ActivityViewSet, basename="activity")
tenant_router.register("forecast-calls", ForecastCallViewSet, basename="forecast-call")
tenant_router.register("forecast-rollups", ForecastRollupViewSet, basename="forecast-rollup")
tenant_router.register("forecast-trends", ForecastTrendViewSet, basename="forecast-trend")
tenant_router.register("forecast-stats", StatForecastViewSet, basename="forecast-stat")
tenant_router.register("forecast-odds", DealOddsViewSet, basename="forecast-odds")
tenant_router.register("forecast-accuracy", ForecastAccuracyViewSet, basename="forecast-accuracy")
