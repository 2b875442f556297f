"""Reads of the audit trail: the filtered records of a tenant, and what each changed."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django_filters import rest_framework as filters

from integrations.audit.tracking import TRACKED, TRACKED_BY_LABEL
from integrations.models import AuditAction, AuditRecord
from spm.api.filters import IdFilter
from spm.formatting import current_formats
from spm.models import Membership

# Columns every row has that say nothing about the change itself.
UNSHOWN = frozenset({"id", "tenant_id"})


def audit_records_with_actors(qs: QuerySet[AuditRecord]) -> QuerySet[AuditRecord]:
    """``qs`` newest first, with each actor's user and ``actor_member``: the
    id of the actor's membership in the record's tenant (None for no actor)."""
    member = Membership.objects.filter(
        tenant_id=OuterRef("tenant_id"), user_id=OuterRef("actor_id")
    ).values("id")[:1]
    return (
        qs.select_related("actor")
        .annotate(actor_member=Subquery(member))
        .order_by("-created_at", "-id")
    )


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight starting ``day`` in the current (the tenant's) time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditRecordFilter(filters.FilterSet):
    """The filters of the audit page and of ``GET audit/``: the kind of
    object, one object (with the kind), the person who made the change (a
    member id, as ``GET members/`` gives them), and the days (from and to,
    both included, in the tenant's time zone)."""

    object_type = filters.ChoiceFilter(
        choices=[(t.label, t.name) for t in TRACKED], label="Object type"
    )
    object_id = IdFilter(label="Object id")
    member = IdFilter(method="filter_member", label="Person (member id)")
    action = filters.ChoiceFilter(choices=AuditAction.choices, label="Action")
    date_from = filters.DateFilter(method="filter_date_from", label="From")
    date_to = filters.DateFilter(method="filter_date_to", label="To")

    class Meta:
        model = AuditRecord
        fields = ["object_type", "object_id", "member", "action", "date_from", "date_to"]

    def filter_member(self, qs: QuerySet, name: str, value: int) -> QuerySet:
        # The current tenant's member (the scoped manager): another tenant's id matches no one.
        return qs.filter(actor_id__in=Membership.objects.filter(pk=value).values("user_id"))

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
    """The columns ``record`` changed, in the order the record keeps them:
    for a change the columns whose value differs, for a create every column
    (``before`` None), for a delete every column (``after`` None)."""
    before = record.before or {}
    after = record.after or {}
    columns = list(after) if record.after is not None else list(before)
    return [
        FieldChange(column, before.get(column), after.get(column))
        for column in columns
        if column not in UNSHOWN
        and (record.action != AuditAction.UPDATE or before.get(column) != after.get(column))
    ]


# Dates and moments as the database records them (``to_jsonb``).
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")


def audit_value_text(value: Any) -> str:
    """A recorded value as the page shows it: text as it is, numbers with
    their exact digits, JSON (a plan's document) as compact JSON, nothing as
    an em dash; dates in the tenant's date format and moments with it, in the
    tenant's time zone and to the second (two changes can share a minute)."""
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False, separators=(", ", ": "))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return current_formats().date(dt.date.fromisoformat(value))
    if isinstance(value, str) and _ISO_MOMENT.fullmatch(value):
        local = timezone.localtime(dt.datetime.fromisoformat(value))
        return f"{current_formats().date(local.date())} {local:%H:%M:%S}"
    return str(value)


def object_type_name(label: str) -> str:
    tracked = TRACKED_BY_LABEL.get(label)
    return tracked.name if tracked else label
