"""API of the goals pillar: quotas (with bulk upsert, allocation, spreading and
history), seasonality profiles, goals (with approval), check-ins, objectives
and objective scores. Same permissions as the pages; thin: every write goes
through ``goals.services``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from goals import selectors, services
from goals.models import (
    Goal,
    GoalCheckIn,
    GoalLevel,
    Measure,
    Metric,
    Objective,
    ObjectiveScore,
    Quota,
    QuotaChange,
    QuotaSource,
    SeasonalityProfile,
)
from spm.api.base import TenantGenericViewSet, TenantPrimaryKeyRelatedField
from spm.api.registry import tenant_router
from spm.models import FiscalPeriod, Membership, Team
from spm.money import MONEY_KWARGS, RATE_KWARGS
from spm.permissions import ALL_ROLES, MANAGERS

MONEY = MONEY_KWARGS
RATIO = RATE_KWARGS
SOURCE_HELP = "How it was set: " + ", ".join(QuotaSource.values)


class CrudViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantGenericViewSet,
):
    """List, retrieve, create, update, delete on the tenant base."""


# Quotas -------------------------------------------------------------------------------


class QuotaSerializer(serializers.ModelSerializer):
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)
    membership = TenantPrimaryKeyRelatedField(model=Membership, allow_null=True, required=False)
    team = TenantPrimaryKeyRelatedField(model=Team, allow_null=True, required=False)
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0"))
    prorated_amount = serializers.SerializerMethodField(
        help_text="Member quotas: amount x active days / days in the period (FORMULAS.md 1)"
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

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_prorated_amount(self, quota: Quota) -> str:
        if quota.membership_id is None:
            return str(quota.amount)
        return str(selectors.effective_member_quota(quota))


class QuotaAmountSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0"))


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
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0"))
    method = serializers.ChoiceField(
        choices=services.AllocationMethod.CHOICES, default=services.AllocationMethod.PRIOR_BOOKINGS
    )
    weights = serializers.DictField(
        child=serializers.DecimalField(max_digits=18, decimal_places=6, min_value=Decimal("0")),
        required=False,
        help_text='Manual weights by target key: {"m<membership id>": "40"} or {"t<team id>": "1"}',
    )
    unit = serializers.DecimalField(**MONEY, default=Decimal("1"), min_value=Decimal("0.01"))
    factor = serializers.DecimalField(max_digits=5, decimal_places=4, default=Decimal("1"))
    measure = serializers.ChoiceField(choices=Measure.choices, default=Measure.BOOKINGS)


class AllocationPartSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the API field is named label
    weight = serializers.DecimalField(max_digits=24, decimal_places=6)
    amount = serializers.DecimalField(**MONEY)


class AllocationSerializer(serializers.Serializer):
    team = serializers.IntegerField(source="team.pk")
    period = serializers.IntegerField(source="period.pk")
    team_quota = QuotaSerializer()
    allocated_total = serializers.DecimalField(**MONEY)
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
    period = filters.NumberFilter(field_name="period_id")
    period_kind = filters.ChoiceFilter(
        field_name="period__kind",
        choices=[("month", "month"), ("quarter", "quarter"), ("year", "year")],
    )
    fiscal_year = filters.NumberFilter(field_name="period__fiscal_year")
    membership = filters.NumberFilter(field_name="membership_id")
    team = filters.NumberFilter(field_name="team_id")
    measure = filters.ChoiceFilter(choices=Measure.choices)

    class Meta:
        model = Quota
        fields = ["period", "period_kind", "fiscal_year", "membership", "team", "measure"]


class QuotaViewSet(CrudViewSet):
    """Quotas of members and teams per period. Admins and finance read all, a
    manager their subtree and their own, a rep their own; admins and managers
    write (a manager: the teams they manage and their people). POST creates
    or replaces the quota of that subject, period and measure. Quotas of a
    closed period cannot change."""

    queryset = Quota.all_tenants.all()
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
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance: Quota) -> None:
        services.quota_delete(self.tenant, actor=self.membership, quota=instance)

    @extend_schema(request=QuotaBulkSerializer, responses=QuotaSerializer(many=True))
    @action(detail=False, methods=["post"])
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
    @action(detail=False, methods=["post"])
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
    @action(detail=True, methods=["get"])
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every change of this quota: who, when, old and new amount."""
        quota = self.get_object()
        changes = selectors.quota_history(self.tenant, quota=quota)
        return Response(QuotaChangeSerializer(changes, many=True).data)


class SeasonalityProfileSerializer(serializers.ModelSerializer):
    weights = serializers.ListField(
        child=serializers.DecimalField(max_digits=12, decimal_places=6, min_value=Decimal("0")),
        min_length=12,
        max_length=12,
        help_text="Twelve relative weights, fiscal month 1 first",
    )

    class Meta:
        model = SeasonalityProfile
        fields = ["id", "name", "weights", "created_at"]
        read_only_fields = ["id", "created_at"]


class SeasonalityProfileViewSet(CrudViewSet):
    """Monthly weight profiles for spreading quarters and years to months.
    Everyone reads; admins and managers write."""

    queryset = SeasonalityProfile.all_tenants.all()
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


# Goals --------------------------------------------------------------------------------


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
        max_digits=12,
        decimal_places=4,
        read_only=True,
        allow_null=True,
        help_text="Fraction from baseline to target (1 = done)",
    )

    class Meta:
        model = Goal
        fields = [
            "id",
            "level",
            "owner_membership",
            "owner_team",
            "owner_label",
            "title",
            "description",
            "metric",
            "unit",
            "baseline_value",
            "target_value",
            "rationale",
            "parent",
            "start_date",
            "due_date",
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
    start_date = serializers.DateField(allow_null=True, required=False, default=None)
    due_date = serializers.DateField(allow_null=True, required=False, default=None)
    submit = serializers.BooleanField(default=False, help_text="Propose it for approval at once")


class GoalReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(allow_blank=True, required=False, default="")


class GoalCloseSerializer(serializers.Serializer):
    achieved = serializers.BooleanField()


class GoalFilter(filters.FilterSet):
    class Meta:
        model = Goal
        fields = ["level", "status", "metric", "owner_membership", "owner_team", "parent"]


class GoalViewSet(CrudViewSet):
    """SMART goals of the company, teams and people, cascading company -> team
    -> member through ``parent``. A goal that is not SMART is refused with one
    error per field naming the property. Everyone sees company goals and those
    of the teams above them; managers their subtree's; everyone their own.
    Actions: submit (propose), approve, return (to draft), close."""

    queryset = Goal.all_tenants.all()
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


class CheckInSerializer(serializers.ModelSerializer):
    goal = VisibleGoalField()
    author: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)
    value = serializers.DecimalField(
        max_digits=18, decimal_places=4, allow_null=True, required=False, default=None
    )
    checked_on = serializers.DateField(required=False, default=None)

    class Meta:
        model = GoalCheckIn
        fields = ["id", "goal", "author", "checked_on", "value", "comment", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class CheckInUpdateSerializer(serializers.Serializer):
    value = serializers.DecimalField(
        max_digits=18, decimal_places=4, allow_null=True, required=False
    )
    comment = serializers.CharField(allow_blank=True, required=False)


class CheckInViewSet(CrudViewSet):
    """Check-ins on goals: a dated value and comment. Listed for the goals the
    member sees; recorded on approved goals by their owner or manager; a
    manual goal's progress is its latest check-in's value."""

    queryset = GoalCheckIn.all_tenants.all()
    serializer_class = CheckInSerializer
    read_roles = ALL_ROLES
    write_roles = ALL_ROLES
    filterset_fields = ["goal"]
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


# Objectives ---------------------------------------------------------------------------


class ObjectiveSerializer(serializers.ModelSerializer):
    membership = TenantPrimaryKeyRelatedField(model=Membership)
    period = TenantPrimaryKeyRelatedField(model=FiscalPeriod)
    weight = serializers.DecimalField(**RATIO, help_text="A fraction: 0.4 is 40%")
    score_cap = serializers.DecimalField(
        **RATIO, default=Decimal("1"), help_text="Highest score allowed: 1 (100%) to 2 (200%)"
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
    weight = serializers.DecimalField(**RATIO, required=False)
    score_cap = serializers.DecimalField(**RATIO, required=False)


class ObjectiveSetSerializer(serializers.Serializer):
    membership = serializers.IntegerField(source="membership.pk")
    member_name = serializers.CharField(source="membership.display_name")
    period = serializers.IntegerField(source="period.pk")
    period_label = serializers.CharField(source="period.label")
    objectives = serializers.SerializerMethodField()
    weight_total = serializers.DecimalField(**RATIO)
    score = serializers.DecimalField(
        max_digits=12,
        decimal_places=6,
        allow_null=True,
        help_text="Weighted score once all are scored (0.805)",
    )

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_objectives(self, obj: selectors.ObjectiveSet) -> list[int]:
        return [o.pk for o in obj.objectives]


class ObjectiveFilter(filters.FilterSet):
    class Meta:
        model = Objective
        fields = ["membership", "period"]


class ObjectiveViewSet(CrudViewSet):
    """MBO objectives per member and period. Weights are fractions that add up
    to 1 per member and period; admins and the member's manager write; the
    member sees their own. ``summary`` gives each set's weighted score."""

    queryset = Objective.all_tenants.all()
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
        period = membership = None
        if request.query_params.get("period", "").isdigit():
            period = FiscalPeriod.objects.filter(
                tenant=self.tenant, pk=int(request.query_params["period"])
            ).first()
        if request.query_params.get("membership", "").isdigit():
            membership = Membership.objects.filter(
                tenant=self.tenant, pk=int(request.query_params["membership"])
            ).first()
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
        **RATIO, min_value=Decimal("0"), help_text="A fraction: 0.8 is 80%; at most the cap"
    )
    scored_by: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True
    )

    class Meta:
        model = ObjectiveScore
        fields = ["id", "objective", "score", "comment", "scored_by", "scored_at"]
        read_only_fields = ["id", "scored_by", "scored_at"]


class ObjectiveScoreUpdateSerializer(serializers.Serializer):
    score = serializers.DecimalField(**RATIO, min_value=Decimal("0"))
    comment = serializers.CharField(allow_blank=True, required=False, default="")


class ObjectiveScoreViewSet(CrudViewSet):
    """Scores of objectives. The member's manager or an admin scores (POST
    replaces an existing score); the member sees their own; a closed period's
    scores are locked."""

    queryset = ObjectiveScore.all_tenants.all()
    serializer_class = ObjectiveScoreSerializer
    read_roles = ALL_ROLES
    write_roles = MANAGERS
    filterset_fields = ["objective"]
    ordering = ["id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.objective_scores_visible(self.tenant, viewer=self.membership)

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


tenant_router.register("quotas", QuotaViewSet, basename="quota")
tenant_router.register(
    "seasonality-profiles", SeasonalityProfileViewSet, basename="seasonality-profile"
)
tenant_router.register("goals", GoalViewSet, basename="goal")
tenant_router.register("goal-checkins", CheckInViewSet, basename="goal-checkin")
tenant_router.register("objectives", ObjectiveViewSet, basename="objective")
tenant_router.register("objective-scores", ObjectiveScoreViewSet, basename="objective-score")
