"""Activities: serializer, filter and viewset."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from rest_framework import serializers

from pipeline import services
from pipeline.api.bulk import BulkUpsertMixin, bulk_action
from pipeline.api.common import TenantFilterSet
from pipeline.models import (
    Account,
    Activity,
    ActivityKind,
    Deal,
    ImportKind,
    Lead,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.filters import IdFilter
from spm.api.scopes import Scope
from spm.models import Membership
from spm.permissions import SELLERS


class ActivitySerializer(serializers.ModelSerializer):
    member = TenantPrimaryKeyRelatedField(
        model=Membership, required=False, help_text="Defaults to the caller."
    )
    deal = TenantPrimaryKeyRelatedField(model=Deal, allow_null=True, required=False)
    lead = TenantPrimaryKeyRelatedField(model=Lead, allow_null=True, required=False)
    account = TenantPrimaryKeyRelatedField(model=Account, allow_null=True, required=False)

    class Meta:
        model = Activity
        fields = ["id", *services.ACTIVITY_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"external_id": {"allow_null": True}}


class ActivityFilter(TenantFilterSet):
    member = IdFilter(field_name="member_id")
    team = IdFilter(method="filter_team", label="Member's team, with its sub-teams")
    kind = filters.ChoiceFilter(choices=ActivityKind.choices)
    deal = IdFilter(field_name="deal_id")
    lead = IdFilter(field_name="lead_id")
    account = IdFilter(field_name="account_id")
    occurred_after = filters.DateFilter(field_name="occurred_on", lookup_expr="gte")
    occurred_before = filters.DateFilter(field_name="occurred_on", lookup_expr="lte")
    external_id = filters.CharFilter()

    class Meta:
        model = Activity
        fields = [
            "member",
            "team",
            "kind",
            "deal",
            "lead",
            "account",
            "occurred_after",
            "occurred_before",
            "external_id",
            "updated_since",
        ]

    def filter_team(self, qs: QuerySet, name: str, value: Any) -> QuerySet:
        return self.team_subtree(qs, "member", value)


class ActivityViewSet(BulkUpsertMixin, TenantModelViewSet):
    """Calls, emails, meetings and demos logged against deals, leads and
    accounts. ``POST activities/bulk/`` upserts by external_id."""

    model = Activity
    token_write_scope = Scope.DEALS_WRITE
    serializer_class = ActivitySerializer
    write_roles = SELLERS
    filterset_class = ActivityFilter
    ordering_fields: ClassVar[list[str]] = ["occurred_on", "updated_at", "id"]
    ordering = ["-occurred_on", "-id"]
    bulk_kind = ImportKind.ACTIVITIES
    bulk = bulk_action(ImportKind.ACTIVITIES)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.own("member"))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.activity_create(
            self.tenant, actor=self.membership, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.activity_update(
            self.tenant,
            activity=cast(Activity, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Activity) -> None:
        services.activity_delete(self.tenant, activity=instance, actor=self.membership)
