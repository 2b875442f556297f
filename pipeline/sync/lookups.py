"""Step 1 of an upsert: load everything the batch's rows refer to in a handful of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower

from pipeline.models import (
    Account,
    Activity,
    Deal,
    ImportKind,
    Lead,
    Pipeline,
    Stage,
)
from pipeline.services import (
    RateTable,
    exchange_rate_table,
    tenant_today,
)
from pipeline.sync.fields import normalise_header
from pipeline.sync.results import FieldError
from spm.models import Membership, Tenant


def _key(value: Any) -> str:
    return " ".join(str(value).split()).lower()


@dataclass
class Lookups:
    """Everything a batch refers to, loaded with a few set-based queries."""

    tenant: Tenant
    kind: str
    today: dt.date
    members: dict[str, int] = field(default_factory=dict)
    member_ids: set[int] = field(default_factory=set)
    ambiguous_members: set[str] = field(default_factory=set)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    default_pipeline: Pipeline | None = None
    stages: dict[tuple[int, str], Stage] = field(default_factory=dict)
    stages_by_id: dict[int, Stage] = field(default_factory=dict)
    accounts_by_external_id: dict[str, int] = field(default_factory=dict)
    accounts_by_name: dict[str, int] = field(default_factory=dict)
    deals_by_external_id: dict[str, int] = field(default_factory=dict)
    leads_by_external_id: dict[str, int] = field(default_factory=dict)
    existing: dict[str, Any] = field(default_factory=dict)
    rates: RateTable = field(default_factory=dict)

    def existing_record(self, external_id: str | None) -> Any:
        """The stored record with this external id, or None."""
        return None if external_id is None else self.existing.get(external_id)

    def member(self, value: Any) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            if value in self.member_ids:
                return value
            raise FieldError(f"No member with id {value} in this tenant.")
        key = _key(value)
        if key in self.ambiguous_members:
            raise FieldError(f"'{value}' matches several members; use their email.")
        if key not in self.members:
            raise FieldError(f"No member with email or name '{value}' in this tenant.")
        return self.members[key]

    def stage(self, value: Any, pipeline: Pipeline) -> Stage:
        if isinstance(value, int) and not isinstance(value, bool):
            stage = self.stages_by_id.get(value)
            if stage is None or stage.pipeline_id != pipeline.pk:
                raise FieldError(f"No stage with id {value} in '{pipeline.name}'.")
            return stage
        stage = self.stages.get((pipeline.pk, normalise_header(str(value))))
        if stage is None:
            names = ", ".join(
                s.name for (p, _), s in self.stages.items() if p == pipeline.pk and s.is_active
            )
            raise FieldError(f"'{value}' is not a stage of '{pipeline.name}' (stages: {names}).")
        return stage


def _raw_values(rows: Sequence[tuple[int, dict[str, Any]]], name: str) -> set[str]:
    values = set()
    for _, row in rows:
        value = row.get(name)
        if isinstance(value, str) and value.strip() and "\x00" not in value:
            values.add(value.strip())
        elif isinstance(value, int) and not isinstance(value, bool):
            values.add(str(value))
    return values


def load_lookups(tenant: Tenant, kind: str, rows: Sequence[tuple[int, dict[str, Any]]]) -> Lookups:
    """Load what ``rows`` refer to. Call inside the tenant's context."""
    lookups = Lookups(tenant=tenant, kind=kind, today=tenant_today(tenant))
    counts: dict[str, int] = {}
    for pk, email, first, last in Membership.objects.filter(tenant=tenant).values_list(
        "id", "user__email", "user__first_name", "user__last_name"
    ):
        lookups.member_ids.add(pk)
        lookups.members[_key(email)] = pk
        full = _key(f"{first} {last}")
        if full:
            counts[full] = counts.get(full, 0) + 1
            lookups.members.setdefault(full, pk)
    lookups.ambiguous_members = {name for name, n in counts.items() if n > 1}
    if kind == ImportKind.DEALS:
        # One query for the whole batch; rows look their month up in memory.
        lookups.rates = exchange_rate_table(tenant)
        pipelines = list(Pipeline.objects.filter(tenant=tenant).order_by("position", "id"))
        lookups.pipelines = {normalise_header(p.name): p for p in pipelines}
        lookups.default_pipeline = next((p for p in pipelines if p.is_active), None)
        by_id = {p.pk: p for p in pipelines}
        for stage in Stage.objects.filter(tenant=tenant).order_by("position", "id"):
            stage.pipeline = by_id[stage.pipeline_id]
            lookups.stages[(stage.pipeline_id, normalise_header(stage.name))] = stage
            lookups.stages_by_id[stage.pk] = stage
    if kind in (ImportKind.DEALS, ImportKind.ACTIVITIES):
        refs = _raw_values(rows, "account")
        if refs:
            for pk, external_id, name in (
                Account.objects.filter(tenant=tenant)
                .annotate(lname=Lower("name"))
                .filter(Q(external_id__in=refs) | Q(lname__in={r.lower() for r in refs}))
                .values_list("id", "external_id", "name")
            ):
                if external_id:
                    lookups.accounts_by_external_id[external_id] = pk
                lookups.accounts_by_name.setdefault(_key(name), pk)
    deal_refs = _raw_values(rows, "converted_deal" if kind == ImportKind.LEADS else "deal")
    if deal_refs and kind in (ImportKind.LEADS, ImportKind.ACTIVITIES):
        lookups.deals_by_external_id = dict(
            Deal.objects.filter(tenant=tenant, external_id__in=deal_refs).values_list(
                "external_id", "id"
            )
        )
    lead_refs = _raw_values(rows, "lead")
    if lead_refs and kind == ImportKind.ACTIVITIES:
        lookups.leads_by_external_id = dict(
            Lead.objects.filter(tenant=tenant, external_id__in=lead_refs).values_list(
                "external_id", "id"
            )
        )
    ids = _raw_values(rows, "external_id")
    model = MODELS[kind]
    if ids:
        lookups.existing = {
            obj.external_id: obj for obj in model.objects.filter(tenant=tenant, external_id__in=ids)
        }
    return lookups


MODELS: dict[str, Any] = {
    ImportKind.ACCOUNTS: Account,
    ImportKind.DEALS: Deal,
    ImportKind.LEADS: Lead,
    ImportKind.ACTIVITIES: Activity,
}
