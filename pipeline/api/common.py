"""Shared by the pipeline API modules: the bulk limit and the tenant filter set."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from spm.models import Team

MAX_BULK_ITEMS = 5000


class TenantFilterSet(filters.FilterSet):
    updated_since = filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label="Changed at or after this time (ISO 8601)"
    )

    def team_subtree(self, qs: QuerySet, field_prefix: str, value: Any) -> QuerySet:
        tenant = getattr(self.request, "tenant", None)
        team = Team.objects.filter(tenant=tenant, pk=value).first()
        if team is None:
            return qs.none()
        return qs.filter(**{f"{field_prefix}__team__path__startswith": team.path})
