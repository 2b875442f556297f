"""Forecasting over the API (docs/formulas.md section 7):

- ``deals/{id}/categories/``: a deal's category history (the category itself
  is the deal's ``forecast_category``, changed with PATCH);
- ``forecast-calls/``: every submission (the history), filtered by period and
  member; POST submits a call (a rep's amount, a manager's adjustment);
- ``forecast-rollups/``: one member's roll-up for a period, with a row per
  direct report (submitted and adjusted figures, with dates);
- ``forecast-trends/`` (and ``waterfall/``): a member's subtree over the
  weekly snapshots, and what moved closed + commit since the last one;
- ``forecast-stats/``: the statistical forecast per member, team, company;
- ``forecast-odds/``: each open deal's probability with its top factors;
- ``forecast-accuracy/``: the backtested accuracy and bias per method.

Reach: a rep reads and submits their own calls, a manager their subtree's,
admins all; finance reads all and submits none. Outside it: 404.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Q, QuerySet
from django.http.response import HttpResponseBase
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline.forecast import selectors, services, snapshots
from pipeline.forecast.selectors import ZERO, Figures, RollupRow
from pipeline.models import (
    AccuracyMethod,
    AsOfPoint,
    DealOdds,
    ForecastAccuracy,
    ForecastCall,
    StatForecast,
    SubjectKind,
)
from pipeline.services import tenant_today
from spm.api.base import (
    TenantGenericViewSet,
    TenantPrimaryKeyRelatedField,
    TenantReadOnlyViewSet,
)
from spm.api.csv import RENDERERS, CsvListModelMixin, csv_or_json
from spm.api.fields import MoneyField
from spm.api.filters import IdFilter
from spm.models import FiscalPeriod, Membership
from spm.money import RATE_KWARGS
from spm.permissions import SELLERS
from spm.reach import Reach
from spm.selectors import period_containing


class ForecastCallSerializer(serializers.ModelSerializer):
    period_label = serializers.CharField(source="period.label", read_only=True)
    member_name = serializers.CharField(source="member.display_name", read_only=True)

    class Meta:
        model = ForecastCall
        fields = [
            "id",
            "period",
            "period_label",
            "member",
            "member_name",
            "rollup",
            "adjustment",
            "amount",
            "note",
            "submitted_at",
            "submitted_by",
        ]
        read_only_fields = fields


class CallSubmitSerializer(serializers.Serializer):
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)
    member = TenantPrimaryKeyRelatedField(
        model=Membership, required=False, help_text="Whose call; defaults to the caller."
    )
    amount = MoneyField(
        required=False,
        help_text="The call; a rep's defaults to closed + commit.",
    )
    adjustment = MoneyField(
        required=False,
        help_text="A manager's change to the sum of their reports' calls.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ForecastCallFilter(filters.FilterSet):
    period = IdFilter(field_name="period_id")
    member = IdFilter(field_name="member_id")

    class Meta:
        model = ForecastCall
        fields = ["period", "member"]


class ForecastCallViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, CsvListModelMixin, TenantGenericViewSet
):
    """Calls submitted per member and period, newest first; POST submits one."""

    model = ForecastCall
    serializer_class = ForecastCallSerializer
    filterset_class = ForecastCallFilter
    write_roles = SELLERS
    ordering_fields: ClassVar[list[str]] = ["submitted_at", "id"]
    ordering = ["-submitted_at", "-id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.members("member")).select_related("period", "member__user")

    @extend_schema(request=CallSubmitSerializer, responses={201: ForecastCallSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CallSubmitSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        call = services.forecast_call_submit(
            self.tenant, actor=self.membership, **data.validated_data
        )
        body = ForecastCallSerializer(self.get_queryset().get(pk=call.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


class RollupQuerySerializer(serializers.Serializer):
    period = serializers.IntegerField(min_value=1, required=False)
    member = serializers.IntegerField(min_value=1, required=False)


ROLLUP_COLUMNS = [
    "member",
    "name",
    "closed",
    "commit",
    "best_case",
    "pipeline",
    "omitted",
    "weighted",
    "rollup",
    "adjustment",
    "call",
    "submitted_rollup",
    "submitted_amount",
    "submitted_at",
]


def _figures(figures: Figures) -> dict[str, str]:
    return {
        "closed": str(figures.closed),
        "commit": str(figures.commit),
        "best_case": str(figures.best_case),
        "pipeline": str(figures.pipeline),
        "omitted": str(figures.omitted),
        "weighted": str(figures.weighted),
    }


def rollup_line(row: RollupRow) -> dict[str, Any]:
    """One roll-up row as the API and the CSV carry it."""
    submitted = row.submitted
    return {
        "member": row.member.pk,
        "name": row.member.display_name,
        **_figures(row.figures),
        "rollup": str(row.rollup),
        "adjustment": str(row.adjustment),
        "call": str(row.call),
        "submitted_rollup": str(submitted.rollup) if submitted else None,
        "submitted_amount": str(submitted.amount) if submitted else None,
        "submitted_at": submitted.submitted_at.isoformat() if submitted else None,
    }


class ForecastRollupViewSet(mixins.ListModelMixin, TenantGenericViewSet):
    """A member's roll-up (default: the caller) for a period (default: the
    current quarter): their own line and one per direct report."""

    model = ForecastCall
    renderer_classes = RENDERERS
    pagination_class = None
    serializer_class = ForecastCallSerializer

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.members("member"))

    def _period(self, pk: int | None) -> FiscalPeriod:
        if pk is not None:
            period = FiscalPeriod.objects.filter(tenant=self.tenant, pk=pk).first()
            if period is None:
                raise NotFound("period: there is no such period.")
            return period
        today = tenant_today(self.tenant)
        current = period_containing(self.tenant, day=today, kind="quarter")
        if current is None:
            raise NotFound("period: the tenant has no current quarter.")
        return current

    @extend_schema(
        parameters=[OpenApiParameter("period", int), OpenApiParameter("member", int)],
        responses=inline_serializer(
            "ForecastRollup",
            {
                "period": serializers.IntegerField(),
                "period_label": serializers.CharField(),
                "member": serializers.IntegerField(),
                "call": serializers.CharField(),
                "company_call": serializers.CharField(allow_null=True),
                "rows": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        query = RollupQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = self._period(query.validated_data.get("period"))
        member_id = query.validated_data.get("member", self.membership.pk)
        if not self.reach.may_see_member(member_id):
            raise NotFound("member: there is no such member.")
        rollup = selectors.forecast_rollup(self.tenant, period=period)
        if member_id not in rollup.rows:
            raise NotFound("member: there is no such member.")
        row = rollup.row(member_id)
        body = {
            "period": period.pk,
            "period_label": period.label,
            "member": member_id,
            "call": str(row.call),
            "company_call": str(rollup.company_call) if self.reach.reads_all else None,
            "rows": [rollup_line(line) for line in (row, *row.reports)],
        }
        return csv_or_json(request, body, columns=ROLLUP_COLUMNS, filename="forecast-rollup")


class StatForecastSerializer(serializers.ModelSerializer):
    period_label = serializers.CharField(source="period.label", read_only=True)

    class Meta:
        model = StatForecast
        fields = [
            "id",
            "period",
            "period_label",
            "subject_kind",
            "subject_id",
            "closed",
            "open_expected",
            "new_expected",
            "expected",
            "p10",
            "p50",
            "p90",
            "as_of",
            "computed_at",
        ]
        read_only_fields = fields


class SubjectFilter(filters.FilterSet):
    period = IdFilter(field_name="period_id")
    subject_kind = filters.ChoiceFilter(choices=SubjectKind.choices)
    subject_id = IdFilter(field_name="subject_id")


class StatForecastFilter(SubjectFilter):
    class Meta:
        model = StatForecast
        fields = ["period", "subject_kind", "subject_id"]


def subject_scope(reach: Reach) -> Q:
    """Rows keyed by subject in reach; the company's (id 0) for admins and finance."""
    return reach.subjects(member=SubjectKind.MEMBER, team=SubjectKind.TEAM)


class StatForecastViewSet(TenantReadOnlyViewSet):
    """The statistical forecast per member, team subtree and company: won so
    far, expected from open deals and from deals not yet created, the
    expected total and its P10 / P50 / P90."""

    model = StatForecast
    serializer_class = StatForecastSerializer
    filterset_class = StatForecastFilter
    ordering = ["period_id", "subject_kind", "subject_id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(subject_scope(self.reach)).select_related("period")


class FactorSerializer(serializers.Serializer):
    factor = serializers.CharField()
    effect = serializers.DecimalField(
        **RATE_KWARGS, help_text="Change in probability (0.12: +12 points)."
    )


class DealOddsSerializer(serializers.ModelSerializer):
    deal_name = serializers.CharField(source="deal.name", read_only=True)
    factors = serializers.SerializerMethodField()

    class Meta:
        model = DealOdds
        fields = [
            "id",
            "period",
            "deal",
            "deal_name",
            "owner",
            "probability",
            "amount",
            "expected",
            "base_rate",
            "factors",
        ]
        read_only_fields = fields

    @extend_schema_field(FactorSerializer(many=True))
    def get_factors(self, odds: DealOdds) -> list[dict[str, str]]:
        return [
            {"factor": f.label, "effect": str(f.effect)}
            for f in selectors.odds_factors(odds, stage_name=odds.deal.stage.name)
        ]


class DealOddsFilter(filters.FilterSet):
    period = IdFilter(field_name="period_id")
    owner = IdFilter(field_name="owner_id")
    deal = IdFilter(field_name="deal_id")

    class Meta:
        model = DealOdds
        fields = ["period", "owner", "deal"]


class DealOddsViewSet(TenantReadOnlyViewSet):
    """Each open deal's probability to close won within the period, its
    expected amount and the top factors behind it (deals the caller reads)."""

    model = DealOdds
    serializer_class = DealOddsSerializer
    filterset_class = DealOddsFilter
    ordering = ["-expected", "deal_id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.own("owner")).select_related("deal__stage")


class ForecastAccuracySerializer(serializers.ModelSerializer):
    period_label = serializers.CharField(source="period.label", read_only=True)

    class Meta:
        model = ForecastAccuracy
        fields = [
            "id",
            "period",
            "period_label",
            "point",
            "as_of",
            "method",
            "subject_kind",
            "subject_id",
            "forecast",
            "actual",
            "accuracy",
            "bias",
        ]
        read_only_fields = fields


class ForecastAccuracyFilter(SubjectFilter):
    point = filters.ChoiceFilter(choices=AsOfPoint.choices)
    method = filters.ChoiceFilter(choices=AccuracyMethod.choices)

    class Meta:
        model = ForecastAccuracy
        fields = ["period", "point", "method", "subject_kind", "subject_id"]


class ForecastAccuracyViewSet(TenantReadOnlyViewSet):
    """Backtested accuracy (1 - |forecast - actual| / actual) and bias of each
    method per subject, past period and as-of point (``manage.py
    forecast_backtest`` writes them)."""

    model = ForecastAccuracy
    serializer_class = ForecastAccuracySerializer
    filterset_class = ForecastAccuracyFilter
    ordering = ["period_id", "point", "subject_kind", "subject_id", "method"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(subject_scope(self.reach)).select_related("period")


TREND_COLUMNS = ["day", "closed", "commit", "best_case", "pipeline", "omitted", "lost", "weighted"]


class ForecastTrendViewSet(ForecastRollupViewSet):
    """A member's subtree (default: the caller) over the weekly snapshots of a
    period: amounts per category and weighted pipeline by snapshot day; the
    ``waterfall`` action says what moved closed + commit since the snapshot
    before the last."""

    def _owners(self, request: Request) -> tuple[FiscalPeriod, list[int]]:
        query = RollupQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = self._period(query.validated_data.get("period"))
        member_id = query.validated_data.get("member", self.membership.pk)
        tree = selectors.forecast_tree(self.tenant)
        if not self.reach.may_see_member(member_id) or member_id not in tree.members:
            raise NotFound("member: there is no such member.")
        return period, tree.subtree(member_id)

    @extend_schema(
        parameters=[OpenApiParameter("period", int), OpenApiParameter("member", int)],
        responses=inline_serializer(
            "ForecastTrend", {"rows": serializers.ListField(child=serializers.DictField())}
        ),
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        period, owners = self._owners(request)
        points = snapshots.forecast_trend(self.tenant, period=period, owner_ids=owners)
        rows = [
            {
                "day": p.day.isoformat(),
                **{c: str(p.amounts.get(c, ZERO)) for c in TREND_COLUMNS[1:-1]},
                "weighted": str(p.weighted),
            }
            for p in points
        ]
        return csv_or_json(
            request,
            {"period": period.pk, "rows": rows},
            columns=TREND_COLUMNS,
            filename="forecast-trend",
        )

    @extend_schema(
        parameters=[OpenApiParameter("period", int), OpenApiParameter("member", int)],
        responses=inline_serializer(
            "ForecastWaterfall",
            {
                "previous_day": serializers.DateField(allow_null=True),
                "day": serializers.DateField(allow_null=True),
                "start": serializers.CharField(),
                "end": serializers.CharField(),
                "rows": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    @action(detail=False)
    def waterfall(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        period, owners = self._owners(request)
        fall = snapshots.forecast_waterfall(self.tenant, period=period, owner_ids=owners)
        body = {
            "previous_day": fall.previous_day,
            "day": fall.day,
            "start": str(fall.start),
            "end": str(fall.end),
            "rows": [{"step": label, "amount": str(amount)} for label, amount in fall.steps],
        }
        return csv_or_json(request, body, columns=["step", "amount"], filename="forecast-waterfall")
