"""Accounts: serializer, filter and viewset."""

from __future__ import annotations

from typing import ClassVar, cast

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from rest_framework import serializers

from pipeline import services
from pipeline.api.bulk import BulkUpsertMixin, bulk_action
from pipeline.api.common import TenantFilterSet
from pipeline.models import (
    Account,
    ImportKind,
)
from spm.api.base import TenantModelViewSet, TenantPrimaryKeyRelatedField
from spm.api.filters import IdFilter
from spm.api.scopes import Scope
from spm.models import Membership
from spm.permissions import SELLERS


class AccountSerializer(serializers.ModelSerializer):
    owner = TenantPrimaryKeyRelatedField(model=Membership, allow_null=True, required=False)

    class Meta:
        model = Account
        fields = ["id", *services.ACCOUNT_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class AccountFilter(TenantFilterSet):
    owner = IdFilter(field_name="owner_id")
    name = filters.CharFilter(field_name="name", lookup_expr="icontains")
    external_id = filters.CharFilter()
    churned = filters.BooleanFilter(field_name="churned_on", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Account
        fields = ["owner", "name", "external_id", "segment", "industry", "churned", "updated_since"]


class AccountViewSet(BulkUpsertMixin, TenantModelViewSet):
    """Customer and prospect accounts; everyone in the tenant reads them. Reps
    change only accounts they own. ``POST accounts/bulk/`` upserts by external_id."""

    model = Account
    token_write_scope = Scope.DEALS_WRITE
    serializer_class = AccountSerializer
    write_roles = SELLERS
    filterset_class = AccountFilter
    ordering_fields: ClassVar[list[str]] = ["name", "updated_at", "customer_since", "id"]
    ordering = ["name", "id"]
    bulk_kind = ImportKind.ACCOUNTS
    bulk = bulk_action(ImportKind.ACCOUNTS)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.accounts())

    def may_write(self, obj: Account) -> bool:
        return self.reach.may_write_account(obj)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        owner = self.reach.default_owner()
        if owner is not None:
            data.setdefault("owner", owner)
        serializer.instance = services.account_create(self.tenant, actor=self.membership, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.account_update(
            self.tenant,
            account=cast(Account, serializer.instance),
            actor=self.membership,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: Account) -> None:
        services.account_delete(self.tenant, account=instance, actor=self.membership)
