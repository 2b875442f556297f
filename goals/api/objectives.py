"""Objectives and objective scores API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from goals import selectors, services
from goals.engine import mbo_counted
from goals.models import (
    Objective,
    ObjectiveScore,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.filters import IdFilter
from spm.models import FiscalPeriod, Membership
from spm.money import RATE_KWARGS
from spm.permissions import ALL_ROLES, MANAGERS


class ObjectiveSerializer(serializers.ModelSerializer):
    membership = TenantPrimaryKeyRelatedField(model=Membership)
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)
    weight = serializers.DecimalField(**RATE_KWARGS, help_text="A fraction: 0.4 is 40%")
    score_cap = serializers.DecimalField(
        **RATE_KWARGS, default=Decimal("1"), help_text="Highest score allowed: 1 (100%) to 2 (200%)"
    )

    class Meta:
        model = Objective
        fields = [
            "id",
            "membership",
            "period",
            "title",
            "description",
            "weight",
            "score_cap",
            "position",
            "created_at",
        ]
        read_only_fields = ["id", "position", "created_at"]


class ObjectiveUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    weight = serializers.DecimalField(**RATE_KWARGS, required=False)
    score_cap = serializers.DecimalField(**RATE_KWARGS, required=False)


class ObjectiveSetSerializer(serializers.Serializer):
    membership = serializers.IntegerField(source="membership.pk")
    member_name = serializers.CharField(source="membership.display_name")
    period = serializers.IntegerField(source="period.pk")
    period_label = serializers.CharField(source="period.label")
    objectives = serializers.SerializerMethodField()
    weight_total = serializers.DecimalField(**RATE_KWARGS)
    score = serializers.DecimalField(
        **RATE_KWARGS,
        allow_null=True,
        help_text="Weighted score once all are scored (0.805)",
    )

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_objectives(self, obj: selectors.ObjectiveSet) -> list[int]:
        return [o.pk for o in obj.objectives]


class SummaryQuerySerializer(serializers.Serializer):
    period = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    membership = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


class ObjectiveFilter(filters.FilterSet):
    membership = IdFilter(field_name="membership_id")
    period = IdFilter(field_name="period_id")

    class Meta:
        model = Objective
        fields = ["membership", "period"]


class ObjectiveViewSet(TenantModelViewSet):
    """MBO objectives per member and period. Weights are fractions that add up
    to 1 per member and period; admins and the member's manager write; the
    member sees their own. ``summary`` gives each set's weighted score."""

    model = Objective
    serializer_class = ObjectiveSerializer
    read_roles = ALL_ROLES
    write_roles = MANAGERS
    filterset_class = ObjectiveFilter
    ordering = ["id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.objectives_visible(self.tenant, viewer=self.membership).select_related(
            "membership", "period"
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.objective_create(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    @extend_schema(request=ObjectiveUpdateSerializer, responses=ObjectiveSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        objective = self.get_object()
        data = ObjectiveUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = services.objective_update(
            self.tenant, actor=self.membership, objective=objective, **data.validated_data
        )
        return Response(self.get_serializer(updated).data)

    @extend_schema(request=ObjectiveUpdateSerializer, responses=ObjectiveSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: Objective) -> None:
        services.objective_delete(self.tenant, actor=self.membership, objective=instance)

    @extend_schema(
        responses=ObjectiveSetSerializer(many=True),
        parameters=[
            OpenApiParameter("period", int, description="Only this period"),
            OpenApiParameter("membership", int, description="Only this member"),
        ],
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def summary(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Each member's set per period with its weight total and weighted score."""
        query = SummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = membership = None
        if "period" in query.validated_data:
            pk = query.validated_data["period"]
            period = FiscalPeriod.objects.filter(tenant=self.tenant, pk=pk).first()
            if period is None:
                raise NotFound("period: there is no such period.")
        if "membership" in query.validated_data:
            pk = query.validated_data["membership"]
            membership = Membership.objects.filter(
                self.reach.members(), tenant=self.tenant, pk=pk
            ).first()
            if membership is None:
                raise NotFound("membership: there is no such member.")
        sets = selectors.objective_sets(
            self.tenant, viewer=self.membership, period=period, membership=membership
        )
        return Response(ObjectiveSetSerializer(sets, many=True).data)


class VisibleObjectiveField(TenantPrimaryKeyRelatedField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(model=Objective, **kwargs)

    def get_queryset(self) -> QuerySet:
        return selectors.objectives_visible(
            self.context["tenant"], viewer=self.context["membership"]
        )


class ObjectiveScoreSerializer(serializers.ModelSerializer):
    objective = VisibleObjectiveField()
    score = serializers.DecimalField(
        **RATE_KWARGS,
        min_value=Decimal("0"),
        help_text="The achievement as measured, a fraction: 0.8 is 80%, 1.4 is 140% (at most 10)",
    )
    counted_score = serializers.SerializerMethodField(
        help_text="What counts in the weighted score: the score up to the objective's cap"
    )
    scored_by: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True
    )

    class Meta:
        model = ObjectiveScore
        fields = ["id", "objective", "score", "counted_score", "comment", "scored_by", "scored_at"]
        read_only_fields = ["id", "scored_by", "scored_at"]

    @extend_schema_field(serializers.DecimalField(**RATE_KWARGS))
    def get_counted_score(self, obj: ObjectiveScore) -> str:
        return format(mbo_counted(obj.score, obj.objective.score_cap), "f")


class ObjectiveScoreUpdateSerializer(serializers.Serializer):
    score = serializers.DecimalField(**RATE_KWARGS, min_value=Decimal("0"))
    comment = serializers.CharField(allow_blank=True, required=False, default="")


class ObjectiveScoreFilter(filters.FilterSet):
    objective = IdFilter(field_name="objective_id")

    class Meta:
        model = ObjectiveScore
        fields = ["objective"]


class ObjectiveScoreViewSet(TenantModelViewSet):
    """Scores of objectives. The member's manager or an admin scores (POST
    replaces an existing score); the member sees their own; a closed period's
    scores are locked."""

    model = ObjectiveScore
    serializer_class = ObjectiveScoreSerializer
    read_roles = ALL_ROLES
    write_roles = MANAGERS
    filterset_class = ObjectiveScoreFilter
    ordering = ["id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        scores = selectors.objective_scores_visible(self.tenant, viewer=self.membership)
        return scores.select_related("objective")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.objective_score(
            self.tenant,
            actor=self.membership,
            objective=data["objective"],
            score=data["score"],
            comment=data.get("comment", ""),
        )

    @extend_schema(request=ObjectiveScoreUpdateSerializer, responses=ObjectiveScoreSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = self.get_object()
        data = ObjectiveScoreUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = services.objective_score(
            self.tenant, actor=self.membership, objective=row.objective, **data.validated_data
        )
        return Response(self.get_serializer(updated).data)

    @extend_schema(request=ObjectiveScoreUpdateSerializer, responses=ObjectiveScoreSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: ObjectiveScore) -> None:
        services.objective_unscore(self.tenant, actor=self.membership, score=instance)
