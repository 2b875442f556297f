"""Goal check-ins API."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from goals import selectors, services
from goals.api.goals import VisibleGoalField
from goals.models import (
    GoalCheckIn,
)
from spm.api.base import TenantModelViewSet
from spm.api.fields import DateField
from spm.api.filters import IdFilter
from spm.money import QUANTITY_KWARGS
from spm.permissions import ALL_ROLES


class CheckInSerializer(serializers.ModelSerializer):
    goal = VisibleGoalField()
    author: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)
    value = serializers.DecimalField(
        **QUANTITY_KWARGS, allow_null=True, required=False, default=None
    )
    checked_on = DateField(required=False, default=None)

    class Meta:
        model = GoalCheckIn
        fields = ["id", "goal", "author", "checked_on", "value", "comment", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class CheckInUpdateSerializer(serializers.Serializer):
    value = serializers.DecimalField(**QUANTITY_KWARGS, allow_null=True, required=False)
    comment = serializers.CharField(allow_blank=True, required=False)


class CheckInFilter(filters.FilterSet):
    goal = IdFilter(field_name="goal_id")

    class Meta:
        model = GoalCheckIn
        fields = ["goal"]


class CheckInViewSet(TenantModelViewSet):
    """Check-ins on goals: a dated value and comment. Listed for the goals the
    member sees; recorded on approved goals by their owner or manager; a
    manual goal's progress is its latest check-in's value."""

    model = GoalCheckIn
    serializer_class = CheckInSerializer
    read_roles = ALL_ROLES
    write_roles = ALL_ROLES
    filterset_class = CheckInFilter
    ordering = ["-checked_on", "-id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        goals = selectors.goals_visible(self.tenant, viewer=self.membership)
        return qs.filter(goal__in=goals).select_related("goal")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.checkin_add(
            self.tenant,
            actor=self.membership,
            goal=data["goal"],
            value=data.get("value"),
            comment=data.get("comment", ""),
            checked_on=data.get("checked_on"),
        )

    @extend_schema(request=CheckInUpdateSerializer, responses=CheckInSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        checkin = self.get_object()
        data = CheckInUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields: dict[str, Any] = {}
        if "value" in data.validated_data:
            fields["value"] = data.validated_data["value"]
        if "comment" in data.validated_data:
            fields["comment"] = data.validated_data["comment"]
        updated = services.checkin_update(
            self.tenant, actor=self.membership, checkin=checkin, **fields
        )
        return Response(self.get_serializer(updated).data)

    @extend_schema(request=CheckInUpdateSerializer, responses=CheckInSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: GoalCheckIn) -> None:
        services.checkin_delete(self.tenant, actor=self.membership, checkin=instance)
