"""Check-ins on approved goals; a manual goal's progress is its latest check-in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from goals.models import (
    Goal,
    GoalCheckIn,
    GoalStatus,
    Metric,
)
from goals.services.goals import goal_permissions
from spm.models import Membership, Tenant
from spm.reach import Reach
from spm.services import audit_record


def _refresh_manual_progress(tenant: Tenant, goal: Goal) -> None:
    if goal.metric != Metric.MANUAL:
        return
    latest = (
        GoalCheckIn.objects.filter(tenant=tenant, goal=goal, value__isnull=False)
        .order_by("-checked_on", "-id")
        .first()
    )
    Goal.objects.filter(tenant=tenant, pk=goal.pk).update(
        progress_value=latest.value if latest else None, progress_updated_at=timezone.now()
    )


def checkin_add(
    tenant: Tenant,
    *,
    actor: Membership,
    goal: Goal,
    value: Decimal | None = None,
    comment: str = "",
    checked_on: dt.date | None = None,
) -> GoalCheckIn:
    """Record progress on an approved goal. A manual goal's progress is the
    value of its latest check-in; a KPI goal's comes from the KPI engine, so
    its check-ins carry a comment and an optional value for the record."""
    if not goal_permissions(tenant, actor=actor, goal=goal)["checkin"]:
        if goal.status != GoalStatus.APPROVED:
            raise ValidationError({"goal": "Check-ins are recorded on approved goals only."})
        raise PermissionDenied("You cannot check in on this goal.")
    if goal.metric == Metric.MANUAL and value is None:
        raise ValidationError({"value": "Enter the current value of the measure."})
    if value is None and not comment.strip():
        raise ValidationError({"comment": "Write a comment or enter a value."})
    checked_on = checked_on or timezone.localdate()
    if checked_on < goal.start_date:
        raise ValidationError({"checked_on": f"The goal starts on {goal.start_date:%Y-%m-%d}."})
    with transaction.atomic():
        checkin = GoalCheckIn.objects.create(
            tenant=tenant,
            goal=goal,
            author=actor,
            value=value,
            comment=comment.strip(),
            checked_on=checked_on,
        )
        _refresh_manual_progress(tenant, goal)
        audit_record(
            tenant,
            actor=actor.user,
            action="goal.checkin",
            obj=goal,
            data={"value": None if value is None else str(value), "checkin": checkin.pk},
        )
    return checkin


def checkin_update(
    tenant: Tenant,
    *,
    actor: Membership,
    checkin: GoalCheckIn,
    value: Decimal | None | object = ...,
    comment: str | None = None,
) -> GoalCheckIn:
    """Correct one's own check-in (value or comment)."""
    if checkin.author_id != actor.pk:
        raise PermissionDenied("Only the author changes a check-in.")
    with transaction.atomic():
        if value is not ...:
            if checkin.goal.metric == Metric.MANUAL and value is None:
                raise ValidationError({"value": "Enter the current value of the measure."})
            checkin.value = value  # type: ignore[assignment]
        if comment is not None:
            checkin.comment = comment.strip()
        checkin.save(update_fields=["value", "comment"])
        _refresh_manual_progress(tenant, checkin.goal)
        audit_record(
            tenant,
            actor=actor.user,
            action="goal.checkin_update",
            obj=checkin.goal,
            data={"checkin": checkin.pk},
        )
    return checkin


def checkin_delete(tenant: Tenant, *, actor: Membership, checkin: GoalCheckIn) -> None:
    if checkin.author_id != actor.pk and not Reach(actor).is_admin:
        raise PermissionDenied("Only the author or an admin deletes a check-in.")
    goal = checkin.goal
    with transaction.atomic():
        audit_record(
            tenant,
            actor=actor.user,
            action="goal.checkin_delete",
            obj=goal,
            data={"checkin": checkin.pk},
        )
        checkin.delete()
        _refresh_manual_progress(tenant, goal)
