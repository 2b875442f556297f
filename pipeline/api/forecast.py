"""Forecasting over the API (docs/formulas.md section 7):

- ``deals/{id}/categories/``: a deal's category history (the category itself
  is the deal's ``forecast_category``, changed with PATCH);
- ``forecast-calls/``: every submission (the history), filtered by period and
  member; POST submits a call (a rep's amount, a manager's adjustment);
- ``forecast-rollups/``: one member's roll-up for a period, with a row per
  direct report (submitted and adjusted figures, with dates).

Reach: a rep reads and submits their own calls, a manager their subtree's,
admins all; finance reads all and submits none. Outside it: 404.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline.forecast import selectors, services
from pipeline.forecast.selectors import Figures, RollupRow
from pipeline.models import ForecastCall
from pipeline.services import tenant_today
from spm.api.base import TenantGenericViewSet, TenantPrimaryKeyRelatedField
from spm.api.csv import RENDERERS, CsvListModelMixin, csv_or_json
from spm.api.fields import MoneyField
from spm.api.filters import IdFilter
from spm.models import FiscalPeriod, Membership
from spm.permissions import SELLERS
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
