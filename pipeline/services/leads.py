"""Leads: create, update, convert to a deal, delete; the AIDA stage dates."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db import transaction

from pipeline.models import (
    AIDA_DATE_FIELD,
    AIDA_ORDER,
    AidaStage,
    Deal,
    Lead,
)
from pipeline.services.common import (
    _apply,
    _check_external_id,
    _raise_from_full_clean,
    _user,
    publish_activities_removed,
    publish_leads_written,
    tenant_today,
)
from pipeline.services.deals import check_owner_allowed
from spm.models import Membership, Tenant
from spm.services import audit_record

LEAD_FIELDS: Final = (
    "name",
    "company",
    "email",
    "stage",
    "awareness_on",
    "interest_on",
    "decision_on",
    "action_on",
    "source",
    "campaign",
    "owner",
    "account",
    "converted_deal",
    "external_id",
)


def normalise_lead_dates(values: dict[str, Any], *, today: dt.date) -> dict[str, Any]:
    """Check and complete a lead's AIDA stage and dates (in place, returned).

    - With no stage, the stage is the furthest one that has a date.
    - The current stage's date defaults to today; an earlier stage without a
      date takes the next known date (it was passed no later than that).
    - Dates never go backwards, and no stage beyond the current one has a date.
    Raises ValidationError naming the date field at fault.
    """
    dates: dict[AidaStage, Any] = {s: values.get(AIDA_DATE_FIELD[s]) for s in AIDA_ORDER}
    stage = values.get("stage") or None
    if stage is None:
        reached = [s for s in AIDA_ORDER if dates[s] is not None]
        stage = reached[-1] if reached else AidaStage.AWARENESS
    stage = AidaStage(stage)
    current = AIDA_ORDER.index(stage)
    for later in AIDA_ORDER[current + 1 :]:
        if dates[later] is not None:
            raise ValidationError(
                {
                    AIDA_DATE_FIELD[later]: (
                        f"The lead is at {stage.label}; it cannot have reached {later.label}."
                    )
                }
            )
    if dates[stage] is None:
        dates[stage] = today
    for index in range(current - 1, -1, -1):
        if dates[AIDA_ORDER[index]] is None:
            dates[AIDA_ORDER[index]] = dates[AIDA_ORDER[index + 1]]
    for index in range(1, current + 1):
        before, after = AIDA_ORDER[index - 1], AIDA_ORDER[index]
        if dates[after] < dates[before]:
            raise ValidationError(
                {
                    AIDA_DATE_FIELD[after]: (
                        f"{after.label} ({dates[after]}) cannot come before "
                        f"{before.label} ({dates[before]})."
                    )
                }
            )
    values["stage"] = stage.value
    for s in AIDA_ORDER:
        values[AIDA_DATE_FIELD[s]] = dates[s]
    return values


def lead_create(tenant: Tenant, *, actor: Membership | None, name: str, **fields: Any) -> Lead:
    """Create a lead; the AIDA dates are completed by ``normalise_lead_dates``."""
    unknown = set(fields) - set(LEAD_FIELDS)
    if unknown:
        raise ValidationError({f: "Unknown field." for f in sorted(unknown)})
    if fields.get("owner") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["owner"])
    fields = normalise_lead_dates(dict(fields), today=tenant_today(tenant))
    if fields.get("converted_deal") is not None:
        fields["stage"] = AidaStage.ACTION.value
        fields = normalise_lead_dates(fields, today=tenant_today(tenant))
    lead = Lead(tenant=tenant, name=name.strip(), **fields)
    if not lead.external_id:
        lead.external_id = None
    _raise_from_full_clean(lead, exclude=["tenant", "owner", "account", "converted_deal"])
    with transaction.atomic():
        _check_external_id(tenant, Lead, lead.external_id, None)
        lead.save()
        audit_record(
            tenant, actor=_user(actor), action="lead.create", obj=lead, data={"name": lead.name}
        )
        publish_leads_written(tenant, [(lead.pk, None, lead.awareness_on)])
    return lead


def lead_update(tenant: Tenant, *, lead: Lead, actor: Membership | None, **fields: Any) -> Lead:
    """Change a lead; moving its ``stage`` forward stamps today's date on it."""
    unknown = set(fields) - set(LEAD_FIELDS)
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    if fields.get("owner") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["owner"])
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(tenant=tenant, pk=lead.pk)
        old_day = locked.awareness_on
        values = {name: getattr(locked, name) for name in ("stage", *AIDA_DATE_FIELD.values())}
        values.update(fields)
        if fields.get("converted_deal") is not None:
            values["stage"] = AidaStage.ACTION.value
        if "stage" in values:
            # A stage moved back clears the dates beyond it.
            current = AIDA_ORDER.index(AidaStage(values["stage"]))
            for later in AIDA_ORDER[current + 1 :]:
                if AIDA_DATE_FIELD[later] not in fields:
                    values[AIDA_DATE_FIELD[later]] = None
        values = normalise_lead_dates(values, today=tenant_today(tenant))
        changes = _apply(locked, values)
        if not locked.external_id:
            locked.external_id = None
        _raise_from_full_clean(locked, exclude=["tenant", "owner", "account", "converted_deal"])
        _check_external_id(tenant, Lead, locked.external_id, locked.pk)
        locked.save()
        if changes:
            audit_record(tenant, actor=_user(actor), action="lead.update", obj=locked, data=changes)
            publish_leads_written(tenant, [(locked.pk, old_day, locked.awareness_on)])
    return locked


def lead_convert(tenant: Tenant, *, lead: Lead, deal: Deal, actor: Membership | None) -> Lead:
    """Mark a lead as converted into ``deal`` (it reaches Action today)."""
    return lead_update(tenant, lead=lead, actor=actor, converted_deal=deal)


def lead_delete(tenant: Tenant, *, lead: Lead, actor: Membership | None) -> None:
    with transaction.atomic():
        audit_record(
            tenant, actor=_user(actor), action="lead.delete", obj=lead, data={"name": lead.name}
        )
        publish_activities_removed(tenant, lead=lead)
        publish_leads_written(tenant, [(lead.pk, lead.awareness_on, None)])
        lead.delete()
