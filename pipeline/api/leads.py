"""Leads: serializer, filter and viewset."""

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
    AidaStage,
    Deal,
    ImportKind,
    Lead,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.fields import DateField
from spm.api.filters import IdFilter
from spm.api.scopes import Scope
from spm.models import Membership
from spm.permissions import SELLERS


class LeadSerializer(serializers.ModelSerializer):
    owner = TenantPrimaryKeyRelatedField(model=Membership, allow_null=True, required=False)
    account = TenantPrimaryKeyRelatedField(model=Account, allow_null=True, required=False)
    converted_deal = TenantPrimaryKeyRelatedField(model=Deal, allow_null=True, required=False)
    stage = serializers.ChoiceField(
        choices=AidaStage.choices,
        required=False,
        help_text="Defaults to the furthest stage that has a date.",
    )
    awareness_on = DateField(required=False, help_text="Defaults to today.")

    class Meta:
        model = Lead
        fields = ["id", *services.LEAD_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"external_id": {"allow_null": True}}


class LeadFilter(TenantFilterSet):
    owner = IdFilter(field_name="owner_id")
    team = IdFilter(method="filter_team", label="Owner's team, with its sub-teams")
    stage = filters.ChoiceFilter(choices=AidaStage.choices)
    awareness_after = filters.DateFilter(field_name="awareness_on", lookup_expr="gte")
    awareness_before = filters.DateFilter(field_name="awareness_on", lookup_expr="lte")
    converted = filters.BooleanFilter(
        field_name="converted_deal", lookup_expr="isnull", exclude=True
    )
    external_id = filters.CharFilter()

    class Meta:
        model = Lead
        fields = [
            "owner",
            "team",
            "stage",
            "awareness_after",
            "awareness_before",
            "source",
            "campaign",
            "converted",
            "external_id",
            "updated_since",
        ]

    def filter_team(self, qs: QuerySet, name: str, value: Any) -> QuerySet:
        return self.team_subtree(qs, "owner", value)


class LeadViewSet(BulkUpsertMixin, TenantModelViewSet):
    """Leads in the AIDA funnel with the date each stage was reached.
    ``POST leads/bulk/`` upserts by external_id."""

    model = Lead
    token_write_scope = Scope.DEALS_WRITE
    serializer_class = LeadSerializer
    write_roles = SELLERS
    filterset_class = LeadFilter
    ordering_fields: ClassVar[list[str]] = ["awareness_on", "updated_at", "name", "id"]
    ordering = ["-awareness_on", "id"]
    bulk_kind = ImportKind.LEADS
    bulk = bulk_action(ImportKind.LEADS)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.own("owner", unowned=True))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        owner = self.reach.default_owner()
        if owner is not None:
            data.setdefault("owner", owner)
        serializer.instance = services.lead_create(self.tenant, actor=self.membership, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.lead_update(
            self.tenant,
            lead=cast(Lead, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Lead) -> None:
        services.lead_delete(self.tenant, lead=instance, actor=self.membership)
