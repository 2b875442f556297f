"""Seasonality profiles: twelve monthly weights used to spread quotas."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from goals.models import (
    SeasonalityProfile,
)
from spm.models import Membership, Tenant
from spm.reach import Reach
from spm.services import audit_record


def _clean_weights(weights: Sequence[Any]) -> list[str]:
    if not isinstance(weights, list | tuple) or len(weights) != 12:
        raise ValidationError({"weights": "Give exactly twelve weights, fiscal month 1 first."})
    cleaned = []
    for index, value in enumerate(weights, start=1):
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError:
            raise ValidationError(
                {"weights": f"Month {index}: '{value}' is not a number."}
            ) from None
        if not number.is_finite() or number < 0:
            raise ValidationError({"weights": f"Month {index}: a weight must be zero or more."})
        cleaned.append(str(number))
    if not any(Decimal(w) for w in cleaned):
        raise ValidationError({"weights": "At least one month needs a weight above zero."})
    return cleaned


def seasonality_profile_save(
    tenant: Tenant,
    *,
    actor: Membership,
    name: str,
    weights: Sequence[Any],
    profile: SeasonalityProfile | None = None,
) -> SeasonalityProfile:
    """Create (``profile`` None) or change a seasonality profile (admins and managers)."""
    if not Reach(actor).sets_targets:
        raise PermissionDenied("Only admins and managers edit seasonality profiles.")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the profile a name."})
    cleaned = _clean_weights(weights)
    with transaction.atomic():
        clash = SeasonalityProfile.objects.filter(tenant=tenant, name__iexact=name)
        if profile is not None:
            clash = clash.exclude(pk=profile.pk)
        if clash.exists():
            raise ValidationError({"name": f"A profile named '{name}' already exists."})
        if profile is None:
            profile = SeasonalityProfile.objects.create(tenant=tenant, name=name, weights=cleaned)
            action = "seasonality.create"
        else:
            profile.name, profile.weights = name, cleaned
            profile.save(update_fields=["name", "weights"])
            action = "seasonality.update"
        audit_record(
            tenant, actor=actor.user, action=action, obj=profile, data={"weights": cleaned}
        )
    return profile


def seasonality_profile_delete(
    tenant: Tenant, *, actor: Membership, profile: SeasonalityProfile
) -> None:
    if not Reach(actor).sets_targets:
        raise PermissionDenied("Only admins and managers edit seasonality profiles.")
    with transaction.atomic():
        audit_record(
            tenant,
            actor=actor.user,
            action="seasonality.delete",
            obj=profile,
            data={"name": profile.name},
        )
        profile.delete()
