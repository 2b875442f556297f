"""Helpers shared by the pipeline services: the tenant's today, the acting
user, full_clean and field application, membership and external-id checks."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone

from spm.models import Membership, Tenant


def tenant_today(tenant: Tenant) -> dt.date:
    """Today's date in the tenant's time zone."""
    return timezone.now().astimezone(ZoneInfo(tenant.time_zone)).date()


def _user(actor: Membership | None) -> Any:
    return actor.user if actor is not None else None


def _raise_from_full_clean(obj: Any, exclude: list[str]) -> None:
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def _check_member(tenant: Tenant, field: str, member: Membership | None) -> None:
    if member is not None and member.tenant_id != tenant.pk:
        raise ValidationError({field: "Choose a member of this tenant."})


def _apply(obj: Any, fields: dict[str, Any]) -> dict[str, list[str]]:
    changes: dict[str, list[str]] = {}
    for name, value in fields.items():
        old = getattr(obj, name)
        if old != value:
            changes[name] = [str(old), str(value)]
            setattr(obj, name, value)
    return changes


def _check_external_id(tenant: Tenant, model: Any, external_id: str | None, pk: int | None) -> None:
    if not external_id:
        return
    clash = model.objects.filter(tenant=tenant, external_id=external_id)
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if clash.exists():
        raise ValidationError(
            {"external_id": f"Another record already has external id '{external_id}'."}
        )
