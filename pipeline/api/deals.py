"""Deals: serializers (splits, stage history, moves), filter and viewset."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, cast

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors, services
from pipeline.api.bulk import BulkUpsertMixin, bulk_action
from pipeline.api.common import TenantFilterSet
from pipeline.models import (
    DEAL_AMOUNT_MAX,
    Account,
    CategoryChange,
    ChangeSource,
    Deal,
    DealSplit,
    DealStatus,
    DealType,
    ForecastCategory,
    ImportKind,
    Pipeline,
    Stage,
    StageChange,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.etag import ETagMixin
from spm.api.fields import DateField, MoneyField
from spm.api.filters import IdFilter
from spm.api.scopes import Scope
from spm.models import Membership
from spm.money import MONEY_KWARGS, PERCENT_KWARGS, RATE_KWARGS
from spm.permissions import SELLERS


class SplitSerializer(serializers.ModelSerializer):
    member = TenantPrimaryKeyRelatedField(model=Membership)
    credited_amount = serializers.DecimalField(**MONEY_KWARGS, read_only=True)

    class Meta:
        model = DealSplit
        fields = ["member", "percent", "credited_amount"]


# Read-only figures shown right after the field they follow from.
DERIVED_AFTER = {
    "exchange_rate": ("base_amount",),
    "forecast_category": ("weighted_amount",),
    "expected_close_date": ("status",),
}


class DealSerializer(serializers.ModelSerializer):
    account = TenantPrimaryKeyRelatedField(model=Account, allow_null=True, required=False)
    owner = TenantPrimaryKeyRelatedField(
        model=Membership, required=False, help_text="Defaults to the caller."
    )
    pipeline = TenantPrimaryKeyRelatedField(
        model=Pipeline, required=False, help_text="Defaults to the stage's pipeline."
    )
    stage = TenantPrimaryKeyRelatedField(model=Stage)
    splits = SplitSerializer(
        many=True,
        required=False,
        help_text="Credit splits adding up to exactly 100; [] means 100% to the owner.",
    )
    currency = serializers.CharField(
        max_length=3, required=False, help_text="Defaults to the tenant's currency."
    )
    probability = serializers.DecimalField(
        **PERCENT_KWARGS,
        required=False,
        min_value=0,
        max_value=100,
        help_text="Percent; defaults to the stage's probability.",
    )
    forecast_category = serializers.ChoiceField(choices=ForecastCategory.choices, required=False)
    exchange_rate = serializers.DecimalField(
        **RATE_KWARGS,
        required=False,
        min_value=0,
        help_text="Tenant currency per unit of the deal's currency.",
    )
    close_date = DateField(
        required=False, allow_null=True, help_text="For won or lost deals; defaults to today."
    )
    weighted_amount = serializers.DecimalField(**MONEY_KWARGS, read_only=True)
    amount = MoneyField(min_value=Decimal("0"), max_value=DEAL_AMOUNT_MAX)

    class Meta:
        model = Deal
        fields = [
            "id",
            *(
                name
                for field in services.DEAL_FIELDS
                for name in (field, *DERIVED_AFTER.get(field, ()))
            ),
            "splits",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "base_amount", "status", "created_at", "updated_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "created_on": {"required": False},
            "external_id": {"allow_null": True},
        }


class StageChangeSerializer(serializers.ModelSerializer):
    from_stage_name = serializers.CharField(
        source="from_stage.name", read_only=True, allow_null=True
    )
    to_stage_name = serializers.CharField(source="to_stage.name", read_only=True)

    class Meta:
        model = StageChange
        fields = [
            "id",
            "from_stage",
            "from_stage_name",
            "to_stage",
            "to_stage_name",
            "changed_at",
            "changed_by",
            "source",
        ]


class CategoryChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = CategoryChange
        fields = ["id", "from_category", "to_category", "changed_at", "changed_by", "source"]


class DealMoveSerializer(serializers.Serializer):
    stage = TenantPrimaryKeyRelatedField(model=Stage)
    close_date = DateField(required=False, allow_null=True)
    lost_reason = serializers.CharField(required=False, max_length=200, allow_blank=True)


class DealFilter(TenantFilterSet):
    owner = IdFilter(field_name="owner_id")
    team = IdFilter(method="filter_team", label="Owner's team, with its sub-teams")
    pipeline = IdFilter(field_name="pipeline_id")
    stage = IdFilter(field_name="stage_id")
    account = IdFilter(field_name="account_id")
    status = filters.ChoiceFilter(choices=DealStatus.choices)
    deal_type = filters.ChoiceFilter(choices=DealType.choices)
    forecast_category = filters.ChoiceFilter(choices=ForecastCategory.choices)
    close_date_after = filters.DateFilter(field_name="close_date", lookup_expr="gte")
    close_date_before = filters.DateFilter(field_name="close_date", lookup_expr="lte")
    expected_close_after = filters.DateFilter(field_name="expected_close_date", lookup_expr="gte")
    expected_close_before = filters.DateFilter(field_name="expected_close_date", lookup_expr="lte")
    external_id = filters.CharFilter()

    class Meta:
        model = Deal
        fields = [
            "owner",
            "team",
            "pipeline",
            "stage",
            "account",
            "status",
            "deal_type",
            "forecast_category",
            "close_date_after",
            "close_date_before",
            "expected_close_after",
            "expected_close_before",
            "external_id",
            "updated_since",
        ]

    def filter_team(self, qs: QuerySet, name: str, value: Any) -> QuerySet:
        return self.team_subtree(qs, "owner", value)


class DealViewSet(ETagMixin, BulkUpsertMixin, TenantModelViewSet):
    """Deals the caller may see (admins and finance all, managers their
    subtree's, reps their own); finance reads only. Stage changes through any
    write land in ``deals/{id}/history/``. ``POST deals/bulk/`` upserts by
    external_id."""

    model = Deal
    token_write_scope = Scope.DEALS_WRITE
    serializer_class = DealSerializer
    write_roles = SELLERS
    filterset_class = DealFilter
    ordering_fields: ClassVar[list[str]] = [
        "amount",
        "base_amount",
        "expected_close_date",
        "close_date",
        "updated_at",
        "name",
        "id",
    ]
    ordering = ["expected_close_date", "id"]
    bulk_kind = ImportKind.DEALS
    bulk = bulk_action(ImportKind.DEALS)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.deals()).select_related("owner").prefetch_related("splits")

    def may_write(self, obj: Deal) -> bool:
        # Split credit lets a rep read a deal they do not own, never change it.
        return self.reach.may_write_deal(obj)

    def _service_kwargs(self, data: dict[str, Any]) -> dict[str, Any]:
        kwargs = dict(data)
        if "splits" in kwargs:
            kwargs["splits"] = [(s["member"], s["percent"]) for s in kwargs["splits"]]
        return kwargs

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        kwargs = self._service_kwargs(serializer.validated_data)
        kwargs.setdefault("owner", self.membership)
        if kwargs.get("close_date") is None:
            kwargs.pop("close_date", None)
        serializer.instance = services.deal_create(
            self.tenant, actor=self.membership, via=ChangeSource.API, **kwargs
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        kwargs = self._service_kwargs(serializer.validated_data)
        if kwargs.get("close_date") is None:
            kwargs.pop("close_date", None)
        deal = services.deal_update(
            self.tenant,
            deal=cast(Deal, serializer.instance),
            actor=self.membership,
            via=ChangeSource.API,
            **kwargs,
        )
        serializer.instance = self.get_queryset().get(pk=deal.pk)

    def perform_destroy(self, instance: Deal) -> None:
        services.deal_delete(self.tenant, deal=instance, actor=self.membership)

    @extend_schema(request=DealMoveSerializer, responses=DealSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move the deal to another stage (recorded in its history)."""
        deal = self.get_object()
        data = DealMoveSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        services.deal_move(
            self.tenant,
            deal=deal,
            actor=self.membership,
            via=ChangeSource.API,
            **{k: v for k, v in data.validated_data.items() if v is not None},
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=deal.pk)).data)

    @extend_schema(request=None, responses=StageChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The deal's stage changes, oldest first."""
        deal = self.get_object()
        changes = selectors.deal_timeline(self.tenant, deal=deal)
        return Response(StageChangeSerializer(changes, many=True).data)

    @extend_schema(request=None, responses=CategoryChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def categories(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The deal's forecast category changes, oldest first (change the
        category with PATCH ``forecast_category``)."""
        deal = self.get_object()
        changes = CategoryChange.objects.filter(tenant=self.tenant, deal=deal).order_by(
            "changed_at", "id"
        )
        return Response(CategoryChangeSerializer(changes, many=True).data)
