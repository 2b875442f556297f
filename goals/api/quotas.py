"""Quotas API: CRUD, bulk upsert, allocation, spreading and history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from goals import selectors, services
from goals.api.base import SOURCE_HELP
from goals.models import (
    Measure,
    Quota,
    QuotaChange,
    SeasonalityProfile,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.etag import ETagMixin
from spm.api.fields import MoneyField
from spm.api.filters import IdFilter, IntegerFilter
from spm.api.idempotency import idempotent
from spm.api.scopes import Scope
from spm.models import FiscalPeriod, Membership, Team
from spm.money import MONEY_KWARGS, RATE_KWARGS, WEIGHT_KWARGS
from spm.permissions import ALL_ROLES, MANAGERS


class QuotaSerializer(serializers.ModelSerializer):
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)
    membership = TenantPrimaryKeyRelatedField(model=Membership, allow_null=True, required=False)
    team = TenantPrimaryKeyRelatedField(model=Team, allow_null=True, required=False)
    amount = MoneyField(min_value=Decimal("0"))
    prorated_amount = serializers.SerializerMethodField(
        help_text=(
            "Member quotas: amount x active days / days in the period (docs/formulas.md section 1)"
        )
    )
    period_label = serializers.CharField(source="period.label", read_only=True)
    updated_by = serializers.EmailField(source="updated_by.email", read_only=True, default=None)
    source = serializers.CharField(  # type: ignore[assignment]  # the model field is named source
        read_only=True, help_text=SOURCE_HELP
    )

    class Meta:
        model = Quota
        fields = [
            "id",
            "period",
            "period_label",
            "membership",
            "team",
            "measure",
            "amount",
            "prorated_amount",
            "source",
            "updated_at",
            "updated_by",
        ]
        read_only_fields = ["id", "source", "updated_at"]

    @extend_schema_field(serializers.DecimalField(**MONEY_KWARGS))
    def get_prorated_amount(self, quota: Quota) -> str:
        if quota.membership_id is None:
            return str(quota.amount)
        return str(selectors.effective_member_quota(quota))


class QuotaAmountSerializer(serializers.Serializer):
    amount = MoneyField(min_value=Decimal("0"))


class QuotaBulkSerializer(serializers.Serializer):
    rows = QuotaSerializer(many=True)


class QuotaChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.EmailField(source="changed_by.email", read_only=True, default=None)
    source = serializers.CharField(  # type: ignore[assignment]  # the model field is named source
        read_only=True, help_text=SOURCE_HELP
    )

    class Meta:
        model = QuotaChange
        fields = ["id", "old_amount", "new_amount", "source", "changed_by", "changed_at"]


class AllocateSerializer(serializers.Serializer):
    team = TenantPrimaryKeyRelatedField(model=Team)
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)
    amount = MoneyField(min_value=Decimal("0"))
    method = serializers.ChoiceField(
        choices=services.AllocationMethod.CHOICES, default=services.AllocationMethod.PRIOR_BOOKINGS
    )
    weights = serializers.DictField(
        child=serializers.DecimalField(**WEIGHT_KWARGS, min_value=Decimal("0")),
        required=False,
        help_text='Manual weights by target key: {"m<membership id>": "40"} or {"t<team id>": "1"}',
    )
    unit = MoneyField(default=Decimal("1"), min_value=Decimal("0.01"))
    factor = serializers.DecimalField(**RATE_KWARGS, default=Decimal("1"))
    measure = serializers.ChoiceField(choices=Measure.choices, default=Measure.BOOKINGS)


class AllocationPartSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the API field is named label
    weight = serializers.DecimalField(**WEIGHT_KWARGS)
    amount = MoneyField()


class AllocationSerializer(serializers.Serializer):
    team = serializers.IntegerField(source="team.pk")
    period = serializers.IntegerField(source="period.pk")
    team_quota = QuotaSerializer()
    allocated_total = serializers.DecimalField(**MONEY_KWARGS)
    prior_period = serializers.CharField(source="prior_period.label", default=None)
    parts = AllocationPartSerializer(many=True)


class SpreadSerializer(serializers.Serializer):
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod, help_text="A quarter or a year")
    members = TenantPrimaryKeyRelatedField(
        model=Membership, many=True, required=False, default=list
    )
    teams = TenantPrimaryKeyRelatedField(model=Team, many=True, required=False, default=list)
    profile = TenantPrimaryKeyRelatedField(
        model=SeasonalityProfile,
        required=False,
        allow_null=True,
        default=None,
        help_text="Omit to spread evenly",
    )
    measure = serializers.ChoiceField(choices=Measure.choices, default=Measure.BOOKINGS)


class QuotaFilter(filters.FilterSet):
    period = IdFilter(field_name="period_id")
    period_kind = filters.ChoiceFilter(
        field_name="period__kind",
        choices=[("month", "month"), ("quarter", "quarter"), ("year", "year")],
    )
    fiscal_year = IntegerFilter(field_name="period__fiscal_year")
    membership = IdFilter(field_name="membership_id")
    team = IdFilter(field_name="team_id")
    measure = filters.ChoiceFilter(choices=Measure.choices)

    class Meta:
        model = Quota
        fields = ["period", "period_kind", "fiscal_year", "membership", "team", "measure"]


class QuotaViewSet(ETagMixin, TenantModelViewSet):
    """Quotas of members and teams per period. Admins and finance read all, a
    manager their subtree and their own, a rep their own; admins and managers
    write (a manager: the teams they manage and their people). POST creates
    or replaces the quota of that subject, period and measure. Quotas of a
    closed period cannot change."""

    model = Quota
    token_read_scope = Scope.QUOTAS_READ
    token_write_scope = Scope.QUOTAS_WRITE
    serializer_class = QuotaSerializer
    read_roles = ALL_ROLES
    write_roles = MANAGERS
    filterset_class = QuotaFilter
    ordering_fields = ["id", "amount", "updated_at"]
    ordering = ["id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.quotas_visible(self.tenant, viewer=self.membership).select_related(
            "period", "membership__user", "team", "updated_by"
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quota = services.quota_set(
            self.tenant, actor=self.membership, source="api", **serializer.validated_data
        )
        return Response(self.get_serializer(quota).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=QuotaAmountSerializer, responses=QuotaSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        quota = self.get_object()
        data = QuotaAmountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = services.quota_set(
            self.tenant,
            actor=self.membership,
            period=quota.period,
            membership=quota.membership,
            team=quota.team,
            measure=quota.measure,
            amount=data.validated_data["amount"],
            source="api",
        )
        return Response(self.get_serializer(updated).data)

    @extend_schema(request=QuotaAmountSerializer, responses=QuotaSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Only ``amount`` changes; a body without it changes nothing. Other fields
        (subject, period, measure) are refused by name: delete the quota and create
        another to change those."""
        data = request.data if isinstance(request.data, dict) else {}
        fixed = sorted(set(data) - {"amount"})
        if fixed:
            raise serializers.ValidationError(
                {name: "Only amount can change on a quota." for name in fixed}
            )
        if "amount" not in data:
            return Response(self.get_serializer(self.get_object()).data)
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: Quota) -> None:
        services.quota_delete(self.tenant, actor=self.membership, quota=instance)

    @extend_schema(request=QuotaBulkSerializer, responses=QuotaSerializer(many=True))
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    @idempotent
    def bulk(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create or update many quotas at once, all or nothing; errors name the
        row (``rows[3].amount``)."""
        serializer = QuotaBulkSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        items = [
            services.QuotaInput(
                period=row["period"],
                amount=row["amount"],
                membership=row.get("membership"),
                team=row.get("team"),
                measure=row.get("measure", Measure.BOOKINGS),
            )
            for row in serializer.validated_data["rows"]
        ]
        quotas = services.quota_bulk_upsert(self.tenant, actor=self.membership, items=items)
        return Response(self.get_serializer(quotas, many=True).data)

    @extend_schema(request=AllocateSerializer, responses=AllocationSerializer)
    @action(detail=False, methods=["post"])
    @idempotent
    def allocate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Allocate a team quota top-down to its reps (or sub-teams) by prior-period
        bookings, equal shares or manual weights, largest remainder to ``unit``,
        times the over-assignment ``factor``."""
        serializer = AllocateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        manual = data.pop("weights", None)
        result = services.quota_allocate(
            self.tenant, actor=self.membership, manual_weights=manual, **data
        )
        return Response(AllocationSerializer(result, context=self.get_serializer_context()).data)

    @extend_schema(request=SpreadSerializer, responses=QuotaSerializer(many=True))
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    @idempotent
    def spread(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Spread quarter or year quotas of members and teams to their months,
        evenly or by a seasonality profile."""
        serializer = SpreadSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        quotas = services.quota_spread(
            self.tenant, actor=self.membership, **serializer.validated_data
        )
        return Response(self.get_serializer(quotas, many=True).data)

    @extend_schema(responses=QuotaChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every change of this quota: who, when, old and new amount."""
        quota = self.get_object()
        changes = selectors.quota_history(self.tenant, quota=quota)
        return Response(QuotaChangeSerializer(changes, many=True).data)
