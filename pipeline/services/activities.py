"""Activities: create, update, delete."""

from __future__ import annotations

from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db import transaction

from pipeline.models import (
    Activity,
)
from pipeline.services.common import (
    _apply,
    _check_external_id,
    _raise_from_full_clean,
    _user,
    publish_activities_written,
)
from pipeline.services.deals import check_owner_allowed
from spm.models import Membership, Tenant
from spm.services import audit_record

ACTIVITY_FIELDS: Final = (
    "kind",
    "subject",
    "occurred_on",
    "member",
    "outcome",
    "deal",
    "lead",
    "account",
    "external_id",
)


def _check_activity(tenant: Tenant, activity: Activity) -> None:
    if activity.deal_id is None and activity.lead_id is None and activity.account_id is None:
        raise ValidationError({"deal": "Log the activity against a deal, a lead or an account."})
    if not activity.external_id:
        activity.external_id = None
    _raise_from_full_clean(activity, exclude=["tenant", "member", "deal", "lead", "account"])


def activity_create(
    tenant: Tenant, *, actor: Membership | None, member: Membership | None = None, **fields: Any
) -> Activity:
    """Log an activity (by ``member``, default the actor) against a deal, lead or account."""
    unknown = set(fields) - set(ACTIVITY_FIELDS)
    if unknown:
        raise ValidationError({f: "Unknown field." for f in sorted(unknown)})
    member = member or actor
    if member is None:
        raise ValidationError({"member": "Say who performed the activity."})
    check_owner_allowed(tenant, actor=actor, owner=member, field="member")
    activity = Activity(tenant=tenant, member=member, **fields)
    _check_activity(tenant, activity)
    with transaction.atomic():
        _check_external_id(tenant, Activity, activity.external_id, None)
        activity.save()
        audit_record(
            tenant,
            actor=_user(actor),
            action="activity.create",
            obj=activity,
            data={"kind": activity.kind},
        )
        publish_activities_written(tenant, [(activity.pk, None, activity.occurred_on)])
    return activity


def activity_update(
    tenant: Tenant, *, activity: Activity, actor: Membership | None, **fields: Any
) -> Activity:
    unknown = set(fields) - set(ACTIVITY_FIELDS)
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    if fields.get("member") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["member"], field="member")
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(tenant=tenant, pk=activity.pk)
        old_day = locked.occurred_on
        changes = _apply(locked, fields)
        _check_activity(tenant, locked)
        _check_external_id(tenant, Activity, locked.external_id, locked.pk)
        locked.save()
        if changes:
            audit_record(
                tenant, actor=_user(actor), action="activity.update", obj=locked, data=changes
            )
            publish_activities_written(tenant, [(locked.pk, old_day, locked.occurred_on)])
    return locked


def activity_delete(tenant: Tenant, *, activity: Activity, actor: Membership | None) -> None:
    with transaction.atomic():
        audit_record(
            tenant,
            actor=_user(actor),
            action="activity.delete",
            obj=activity,
            data={"kind": activity.kind},
        )
        publish_activities_written(tenant, [(activity.pk, activity.occurred_on, None)])
        activity.delete()
