"""API of the core: me, members, teams, periods."""

from __future__ import annotations

from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from spm import selectors, services
from spm.api.base import (
    TenantGenericViewSet,
    TenantModelViewSet,
    TenantPrimaryKeyRelatedField,
    TenantReadOnlyViewSet,
)
from spm.api.csv import CsvListModelMixin
from spm.api.fields import DateField
from spm.api.filters import IdFilter
from spm.api.idempotency import idempotent
from spm.auth import request_user
from spm.models import FiscalPeriod, Membership, Role, Team
from spm.permissions import ADMIN, ALL_ROLES

# Me ----------------------------------------------------------------------------------


class MyTenantSerializer(serializers.Serializer):
    slug = serializers.CharField(source="tenant.slug")
    name = serializers.CharField(source="tenant.name")
    role = serializers.CharField()
    membership_id = serializers.IntegerField(source="id")


@extend_schema(
    responses=inline_serializer(
        "Me",
        {
            "id": serializers.IntegerField(),
            "email": serializers.EmailField(),
            "name": serializers.CharField(),
            "tenants": MyTenantSerializer(many=True),
        },
    )
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def me(request: Request) -> Response:
    """The authenticated user and the tenants they belong to."""
    with transaction.atomic():
        memberships = selectors.user_memberships(request_user(request))
    return Response(
        {
            "id": request.user.pk,
            "email": request.user.email,  # type: ignore[union-attr]
            "name": request.user.get_full_name(),  # type: ignore[union-attr]
            "tenants": MyTenantSerializer(memberships, many=True).data,
        }
    )


# Members -----------------------------------------------------------------------------


class TokenView(ObtainAuthToken):
    """Trade a username and password for an API token. Authenticates with the
    Django request itself, so the brute-force lockout (django-axes) counts,
    locks and answers (429 problem+json) here as on the browser login."""

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "request": self.request._request}


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    team = TenantPrimaryKeyRelatedField(model=Team, allow_null=True, required=False)

    class Meta:
        model = Membership
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "role",
            "title",
            "team",
            "start_date",
            "end_date",
            "is_active",
            "employee_id",
        ]
        read_only_fields = ["id"]


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=150, required=False, default="")
    last_name = serializers.CharField(max_length=150, required=False, default="")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.REP)
    title = serializers.CharField(max_length=120, required=False, default="")
    team = TenantPrimaryKeyRelatedField(model=Team, allow_null=True, required=False, default=None)
    start_date = DateField(required=False)
    end_date = DateField(required=False, allow_null=True, default=None)
    send_invite = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and end < start:
            raise serializers.ValidationError(
                {"end_date": "The end date cannot be before the start date."}
            )
        return attrs


class MemberFilter(filters.FilterSet):
    role = filters.ChoiceFilter(choices=Role.choices)
    team = IdFilter(field_name="team_id")
    is_active = filters.BooleanFilter()
    email = filters.CharFilter(field_name="user__email", lookup_expr="iexact")

    class Meta:
        model = Membership
        fields = ["role", "team", "is_active", "email"]


class MemberViewSet(
    CsvListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    TenantGenericViewSet,
):
    """People of the tenant. Admins and finance see everyone, managers their
    subtree, reps themselves. Only admins add or change members."""

    model = Membership
    serializer_class = MemberSerializer
    read_roles = ALL_ROLES
    write_roles = ADMIN
    filterset_class = MemberFilter
    ordering_fields = ["id", "start_date", "role"]
    ordering = ["id"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.members()).select_related("user", "team")

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = MemberCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        membership = services.membership_add(
            self.tenant,
            actor=request_user(request),
            request=request._request,
            **data.validated_data,
        )
        return Response(
            MemberSerializer(membership, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        membership = self.get_object()
        serializer = self.get_serializer(membership, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        updated = services.membership_update(
            self.tenant,
            membership=membership,
            actor=request_user(request),
            **serializer.validated_data,
        )
        return Response(self.get_serializer(updated).data)


# Teams -------------------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer):
    # The API field is named "parent" like the model's; it shadows Field.parent only for mypy.
    parent = TenantPrimaryKeyRelatedField(  # type: ignore[assignment]
        model=Team, allow_null=True, required=False
    )
    manager = TenantPrimaryKeyRelatedField(model=Membership, allow_null=True, required=False)

    class Meta:
        model = Team
        fields = ["id", "name", "parent", "manager", "path", "depth"]
        read_only_fields = ["id", "path", "depth"]


class TeamFilter(filters.FilterSet):
    parent = IdFilter(field_name="parent_id")
    manager = IdFilter(field_name="manager_id")

    class Meta:
        model = Team
        fields = ["parent", "manager", "depth"]


class TeamViewSet(TenantModelViewSet):
    """The team tree. Everyone in the tenant reads it; admins change it.
    ``GET teams/{id}/subtree/`` lists a team and all teams below it."""

    model = Team
    serializer_class = TeamSerializer
    read_roles = ALL_ROLES
    write_roles = ADMIN
    filterset_class = TeamFilter
    ordering = ["path"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("manager")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.team_create(
            self.tenant,
            actor=request_user(self.request),
            **serializer.validated_data,
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        kwargs: dict[str, Any] = {"name": data.get("name")}
        if "manager" in data:
            kwargs["manager"] = data["manager"]
        if "parent" in data:
            kwargs["parent"] = data["parent"]
        serializer.instance = services.team_update(
            self.tenant,
            team=cast(Team, serializer.instance),
            actor=request_user(self.request),
            **kwargs,
        )

    def perform_destroy(self, instance: Team) -> None:
        services.team_delete(self.tenant, team=instance, actor=request_user(self.request))

    @extend_schema(responses=TeamSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def subtree(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        team = self.get_object()
        teams = selectors.team_subtree(self.tenant, team=team).select_related("manager")
        return Response(
            TeamSerializer(teams, many=True, context=self.get_serializer_context()).data
        )


# Periods -----------------------------------------------------------------------------


class PeriodSerializer(serializers.ModelSerializer):
    days = serializers.IntegerField(read_only=True)

    class Meta:
        model = FiscalPeriod
        fields = [
            "id",
            "kind",
            "fiscal_year",
            "number",
            "label",
            "start",
            "end",
            "days",
            "is_closed",
            "closed_at",
        ]


class PeriodFilter(filters.FilterSet):
    contains = filters.DateFilter(method="filter_contains", label="Periods containing this date")

    class Meta:
        model = FiscalPeriod
        fields = ["kind", "fiscal_year", "is_closed"]

    def filter_contains(self, qs: QuerySet, name: str, value: Any) -> QuerySet:
        return qs.filter(start__lte=value, end__gte=value)


class PeriodViewSet(TenantReadOnlyViewSet):
    """Fiscal periods (months, quarters, years) from the tenant's calendar.
    ``?contains=2027-02-10&kind=quarter`` finds the quarter containing a date."""

    model = FiscalPeriod
    serializer_class = PeriodSerializer
    write_roles = ADMIN
    filterset_class = PeriodFilter
    ordering = ["start", "kind"]
    ordering_fields = ["start", "end", "kind"]

    @extend_schema(request=None, responses=PeriodSerializer)
    @action(detail=True, methods=["post"], url_path="close")
    @idempotent
    def close(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Close a period (admin). A closed period's figures are never rewritten."""
        period = services.period_close(
            self.tenant, period=self.get_object(), actor=request_user(request)
        )
        return Response(PeriodSerializer(period).data)
