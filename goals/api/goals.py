"""SMART goals API, with the approval workflow."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from goals import selectors, services
from goals.models import (
    Goal,
    GoalLevel,
    Metric,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.etag import ETagMixin
from spm.api.fields import DateField
from spm.api.filters import IdFilter
from spm.models import Membership, Team
from spm.money import QUANTITY_KWARGS
from spm.permissions import ALL_ROLES


class VisibleGoalField(TenantPrimaryKeyRelatedField):
    """A goal the requesting member can see (others do not exist for them)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(model=Goal, **kwargs)

    def get_queryset(self) -> QuerySet:
        return selectors.goals_visible(self.context["tenant"], viewer=self.context["membership"])


class GoalSerializer(serializers.ModelSerializer):
    owner_membership = TenantPrimaryKeyRelatedField(
        model=Membership, allow_null=True, required=False
    )
    owner_team = TenantPrimaryKeyRelatedField(model=Team, allow_null=True, required=False)
    parent = VisibleGoalField(allow_null=True, required=False)  # type: ignore[assignment]
    owner_label = serializers.CharField(read_only=True)
    progress = serializers.DecimalField(
        **QUANTITY_KWARGS,
        read_only=True,
        allow_null=True,
        help_text="Fraction from baseline to target (1 = done)",
    )

    class Meta:
        model = Goal
        fields = [
            "id",
            *services.GOAL_FIELDS,
            "owner_label",
            "status",
            "progress_value",
            "progress",
            "progress_updated_at",
            "approved_by",
            "approved_at",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "progress_value",
            "progress_updated_at",
            "approved_by",
            "approved_at",
            "created_at",
        ]


class GoalWriteSerializer(serializers.Serializer):
    """Input of a goal. Values are checked by the SMART check of the service,
    which names each missing or weak property (so the target is taken as text)."""

    level = serializers.ChoiceField(choices=GoalLevel.choices)
    owner_membership = TenantPrimaryKeyRelatedField(
        model=Membership, allow_null=True, required=False, default=None
    )
    owner_team = TenantPrimaryKeyRelatedField(
        model=Team, allow_null=True, required=False, default=None
    )
    title = serializers.CharField(allow_blank=True, required=False, default="")
    description = serializers.CharField(allow_blank=True, required=False, default="")
    metric = serializers.ChoiceField(choices=Metric.choices, required=False, default=Metric.MANUAL)
    unit = serializers.CharField(allow_blank=True, required=False, default="", max_length=24)
    baseline_value = serializers.CharField(
        allow_blank=True, allow_null=True, required=False, default=None
    )
    target_value = serializers.CharField(
        allow_blank=True, allow_null=True, required=False, default=None
    )
    rationale = serializers.CharField(allow_blank=True, required=False, default="")
    parent = VisibleGoalField(  # type: ignore[assignment]  # the API field is named parent
        allow_null=True, required=False, default=None
    )
    start_date = DateField(allow_null=True, required=False, default=None)
    due_date = DateField(allow_null=True, required=False, default=None)
    submit = serializers.BooleanField(default=False, help_text="Propose it for approval at once")


class GoalReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(allow_blank=True, required=False, default="")


class GoalCloseSerializer(serializers.Serializer):
    achieved = serializers.BooleanField()


class GoalFilter(filters.FilterSet):
    owner_membership = IdFilter(field_name="owner_membership_id")
    owner_team = IdFilter(field_name="owner_team_id")
    parent = IdFilter(field_name="parent_id")

    class Meta:
        model = Goal
        fields = ["level", "status", "metric", "owner_membership", "owner_team", "parent"]


class GoalViewSet(ETagMixin, TenantModelViewSet):
    """SMART goals of the company, teams and people, cascading company -> team
    -> member through ``parent``. A goal that is not SMART is refused with one
    error per field naming the property. Everyone sees company goals and those
    of the teams above them; managers their subtree's; everyone their own.
    Actions: submit (propose), approve, return (to draft), close."""

    model = Goal
    serializer_class = GoalSerializer
    read_roles = ALL_ROLES
    write_roles = ALL_ROLES
    filterset_class = GoalFilter
    ordering_fields = ["id", "due_date", "start_date"]
    ordering = ["id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.goals_visible(self.tenant, viewer=self.membership).select_related(
            "owner_membership__user", "owner_team"
        )

    @extend_schema(request=GoalWriteSerializer, responses={201: GoalSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = GoalWriteSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        goal = services.goal_create(self.tenant, actor=self.membership, **data.validated_data)
        return Response(self.get_serializer(goal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=GoalWriteSerializer, responses=GoalSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        goal = self.get_object()
        partial = kwargs.get("partial", False)
        data = GoalWriteSerializer(
            data=request.data, partial=partial, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "submit"}
        if partial:
            fields = {k: v for k, v in fields.items() if k in request.data}
        updated = services.goal_update(self.tenant, actor=self.membership, goal=goal, **fields)
        return Response(self.get_serializer(updated).data)

    @extend_schema(request=GoalWriteSerializer, responses=GoalSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance: Goal) -> None:
        services.goal_delete(self.tenant, actor=self.membership, goal=instance)

    @extend_schema(request=None, responses=GoalSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Propose a draft goal for approval."""
        goal = services.goal_submit(self.tenant, actor=self.membership, goal=self.get_object())
        return Response(self.get_serializer(goal).data)

    @extend_schema(request=None, responses=GoalSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Approve a goal (the owner's manager or an admin)."""
        goal = services.goal_approve(self.tenant, actor=self.membership, goal=self.get_object())
        return Response(self.get_serializer(goal).data)

    @extend_schema(request=GoalReturnSerializer, responses=GoalSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def send_back(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Send a proposed goal back to draft with a comment."""
        goal = self.get_object()
        data = GoalReturnSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        goal = services.goal_return(
            self.tenant, actor=self.membership, goal=goal, comment=data.validated_data["comment"]
        )
        return Response(self.get_serializer(goal).data)

    @extend_schema(request=GoalCloseSerializer, responses=GoalSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Mark an approved goal achieved or missed."""
        goal = self.get_object()
        data = GoalCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        goal = services.goal_close(
            self.tenant, actor=self.membership, goal=goal, achieved=data.validated_data["achieved"]
        )
        return Response(self.get_serializer(goal).data)
