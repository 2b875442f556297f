"""Reads of the audit trail: the filtered records of a tenant, and what each changed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters

from integrations.audit.tracking import TRACKED, TRACKED_BY_LABEL
from integrations.models import AuditAction, AuditRecord
from spm.api.filters import IdFilter
from spm.models import Tenant

# Columns every row has that say nothing about the change itself.
UNSHOWN = frozenset({"id", "tenant_id"})


def audit_records_for(tenant: Tenant) -> QuerySet[AuditRecord]:
    """The tenant's audit records, newest first, with their actors."""
    return (
        AuditRecord.objects.filter(tenant=tenant)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight starting ``day`` in the current (the tenant's) time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditRecordFilter(filters.FilterSet):
    """The filters of the audit page and of ``GET audit/``: the kind of
    object, one object (with the kind), the person who made the change (a
    user id), and the days (from and to, both included, in the tenant's time
    zone)."""

    object_type = filters.ChoiceFilter(
        choices=[(t.label, t.name) for t in TRACKED], label="Object type"
    )
    object_id = IdFilter(label="Object id")
    actor = IdFilter(field_name="actor_id", label="Person (user id)")
    action = filters.ChoiceFilter(choices=AuditAction.choices, label="Action")
    date_from = filters.DateFilter(method="filter_date_from", label="From")
    date_to = filters.DateFilter(method="filter_date_to", label="To")

    class Meta:
        model = AuditRecord
        fields = ["object_type", "object_id", "actor", "action", "date_from", "date_to"]

    def filter_date_from(self, qs: QuerySet, name: str, value: dt.date) -> QuerySet:
        return qs.filter(created_at__gte=_day_start(value))

    def filter_date_to(self, qs: QuerySet, name: str, value: dt.date) -> QuerySet:
        return qs.filter(created_at__lt=_day_start(value + dt.timedelta(days=1)))


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


def audit_changes(record: AuditRecord) -> list[FieldChange]:
    """The columns ``record`` changed, in column order: for a change the
    columns whose value differs, for a create every column (``before``
    None), for a delete every column (``after`` None)."""
    before = record.before or {}
    after = record.after or {}
    columns = list(after) if record.after is not None else list(before)
    return [
        FieldChange(column, before.get(column), after.get(column))
        for column in columns
        if column not in UNSHOWN
        and (record.action != AuditAction.UPDATE or before.get(column) != after.get(column))
    ]


def object_type_name(label: str) -> str:
    tracked = TRACKED_BY_LABEL.get(label)
    return tracked.name if tracked else label
