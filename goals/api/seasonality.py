"""Seasonality profiles API."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from goals import services
from goals.models import (
    SeasonalityProfile,
)
from spm.api.base import TenantModelViewSet
from spm.api.scopes import Scope
from spm.money import WEIGHT_KWARGS
from spm.permissions import ALL_ROLES, MANAGERS


class SeasonalityProfileSerializer(serializers.ModelSerializer):
    weights = serializers.ListField(
        child=serializers.DecimalField(**WEIGHT_KWARGS, min_value=Decimal("0")),
        min_length=12,
        max_length=12,
        help_text="Twelve relative weights, fiscal month 1 first",
    )

    class Meta:
        model = SeasonalityProfile
        fields = ["id", "name", "weights", "created_at"]
        read_only_fields = ["id", "created_at"]


class SeasonalityProfileViewSet(TenantModelViewSet):
    """Monthly weight profiles for spreading quarters and years to months.
    Everyone reads; admins and managers write."""

    model = SeasonalityProfile
    token_read_scope = Scope.QUOTAS_READ
    token_write_scope = Scope.QUOTAS_WRITE
    serializer_class = SeasonalityProfileSerializer
    read_roles = ALL_ROLES
    write_roles = MANAGERS
    ordering = ["name"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.seasonality_profile_save(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        instance = serializer.instance
        data = serializer.validated_data
        serializer.instance = services.seasonality_profile_save(
            self.tenant,
            actor=self.membership,
            profile=instance,
            name=data.get("name", instance.name),  # type: ignore[union-attr]
            weights=data.get("weights", instance.weights),  # type: ignore[union-attr]
        )

    def perform_destroy(self, instance: SeasonalityProfile) -> None:
        services.seasonality_profile_delete(self.tenant, actor=self.membership, profile=instance)
