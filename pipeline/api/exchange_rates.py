"""The exchange-rate table: serializer and viewset."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from rest_framework import serializers

from pipeline import services
from pipeline.models import (
    ExchangeRate,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.filters import IdFilter
from spm.models import FiscalPeriod
from spm.money import RATE_KWARGS
from spm.permissions import ADMIN


class ExchangeRateSerializer(serializers.ModelSerializer):
    period = TenantPrimaryKeyRelatedField(
        model=FiscalPeriod, help_text="A fiscal month (FiscalPeriod id of kind month)."
    )
    period_label = serializers.CharField(source="period.label", read_only=True)
    rate = serializers.DecimalField(
        **RATE_KWARGS,
        coerce_to_string=True,
        help_text="Units of the tenant's currency per unit of this currency.",
    )

    class Meta:
        model = ExchangeRate
        fields: ClassVar[list[str]] = [
            "id",
            "currency",
            "period",
            "period_label",
            "rate",
            "created_at",
            "updated_at",
        ]
        read_only_fields: ClassVar[list[str]] = ["created_at", "updated_at"]
        # The service checks uniqueness and names the field; DRF's check would not.
        validators: ClassVar[list[Any]] = []


class ExchangeRateFilter(filters.FilterSet):
    period = IdFilter(field_name="period_id")

    class Meta:
        model = ExchangeRate
        fields = ["currency", "period"]


class ExchangeRateViewSet(TenantModelViewSet):
    """The tenant's rate table (admins only): units of tenant currency per unit
    of ``currency`` for a fiscal month. Deals in another currency saved without
    an ``exchange_rate`` take the rate of their close month."""

    model = ExchangeRate
    serializer_class = ExchangeRateSerializer
    read_roles = ADMIN
    write_roles = ADMIN
    filterset_class = ExchangeRateFilter
    ordering = ["currency", "period__start", "id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("period")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.exchange_rate_create(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.exchange_rate_update(
            self.tenant,
            exchange_rate=cast(ExchangeRate, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: ExchangeRate) -> None:
        services.exchange_rate_delete(self.tenant, exchange_rate=instance, actor=self.membership)
