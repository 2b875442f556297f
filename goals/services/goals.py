"""SMART goals: create, update, the approval workflow, delete, and the progress
written by the KPI engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from goals import selectors
from goals.models import (
    Goal,
    GoalLevel,
    GoalStatus,
    Metric,
)
from goals.services.common import refuse_unknown_fields
from goals.smart import smart_check_data
from spm import events
from spm.models import Membership, Team, Tenant
from spm.reach import Reach
from spm.services import audit_record

GOAL_FIELDS = (
    "level",
    "owner_membership",
    "owner_team",
    "title",
    "description",
    "metric",
    "unit",
    "baseline_value",
    "target_value",
    "rationale",
    "parent",
    "start_date",
    "due_date",
)


def _goal_owner_allowed(
    tenant: Tenant,
    *,
    actor: Membership,
    level: str,
    owner_membership: Membership | None,
    owner_team: Team | None,
) -> None:
    members, teams = selectors.goals_writable_owner_scope(tenant, viewer=actor)
    if level == GoalLevel.COMPANY:
        if members is not None:
            raise ValidationError({"level": "Only admins set company goals."})
    elif level == GoalLevel.TEAM:
        if owner_team is None:
            raise ValidationError({"owner_team": "Choose the team this goal belongs to."})
        if owner_team.tenant_id != tenant.pk or (teams is not None and owner_team.pk not in teams):
            raise ValidationError({"owner_team": "You cannot set goals for this team."})
    elif level == GoalLevel.MEMBER:
        if owner_membership is None:
            raise ValidationError({"owner_membership": "Choose the person this goal belongs to."})
        if owner_membership.tenant_id != tenant.pk or (
            members is not None and owner_membership.pk not in members
        ):
            raise ValidationError({"owner_membership": "You cannot set goals for this person."})
    else:
        raise ValidationError({"level": f"'{level}' is not a goal level."})


def _goal_check(tenant: Tenant, data: dict[str, Any]) -> tuple[Decimal, Decimal]:
    parent = data.get("parent")
    if parent is not None and parent.tenant_id != tenant.pk:
        raise ValidationError({"parent": "Choose a goal of this tenant."})
    result = smart_check_data(data)
    if not result.ok:
        raise ValidationError({**result.errors, "smart": result.summary})
    return result.target or Decimal(0), result.baseline


def goal_create(
    tenant: Tenant,
    *,
    actor: Membership,
    level: str,
    title: str,
    metric: str,
    target_value: Any,
    rationale: str,
    start_date: dt.date | None,
    due_date: dt.date | None,
    owner_membership: Membership | None = None,
    owner_team: Team | None = None,
    parent: Goal | None = None,
    description: str = "",
    unit: str = "",
    baseline_value: Any = None,
    submit: bool = False,
) -> Goal:
    """Create a SMART goal (draft; proposed with ``submit``).

    Refuses a goal that is not SMART with one message per field naming the
    SMART property (and a ``smart`` summary), and owners outside the actor's
    reach: admins set company goals, managers goals of their teams and people,
    reps their own.
    """
    data = {
        "level": level,
        "title": title,
        "metric": metric,
        "target_value": target_value,
        "rationale": rationale,
        "start_date": start_date,
        "due_date": due_date,
        "parent": parent,
        "baseline_value": baseline_value,
    }
    target, baseline = _goal_check(tenant, data)
    if level != GoalLevel.MEMBER:
        owner_membership = None
    if level != GoalLevel.TEAM:
        owner_team = None
    _goal_owner_allowed(
        tenant, actor=actor, level=level, owner_membership=owner_membership, owner_team=owner_team
    )
    with transaction.atomic():
        goal = Goal.objects.create(
            tenant=tenant,
            level=level,
            owner_membership=owner_membership,
            owner_team=owner_team,
            title=title.strip(),
            description=description,
            metric=metric,
            unit=unit,
            baseline_value=baseline,
            target_value=target,
            rationale=rationale.strip(),
            parent=parent,
            start_date=start_date,
            due_date=due_date,
            created_by=actor,
            status=GoalStatus.PROPOSED if submit else GoalStatus.DRAFT,
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="goal.create",
            obj=goal,
            data={"title": goal.title, "status": goal.status},
        )
    return goal


def _can_manage_goal(tenant: Tenant, *, actor: Membership, goal: Goal) -> bool:
    """Admins manage every goal; managers the goals of their teams and people
    (not their own); nobody else approves or closes."""
    reach = Reach(actor)
    if goal.level == GoalLevel.COMPANY:
        return reach.is_admin
    if goal.level == GoalLevel.TEAM:
        return reach.manage_ids.has_team(goal.owner_team_id)
    return reach.manage_ids.has_member(goal.owner_membership_id)


def _can_edit_goal(tenant: Tenant, *, actor: Membership, goal: Goal) -> bool:
    if _can_manage_goal(tenant, actor=actor, goal=goal):
        return True
    own = goal.level == GoalLevel.MEMBER and goal.owner_membership_id == actor.pk
    return own and goal.status in (GoalStatus.DRAFT, GoalStatus.PROPOSED)


def goal_permissions(tenant: Tenant, *, actor: Membership, goal: Goal) -> dict[str, bool]:
    """What ``actor`` may do with ``goal`` (for pages to show the right buttons)."""
    manage = _can_manage_goal(tenant, actor=actor, goal=goal)
    edit = _can_edit_goal(tenant, actor=actor, goal=goal)
    return {
        "edit": edit,
        "submit": edit and goal.status == GoalStatus.DRAFT,
        "approve": manage and goal.status in (GoalStatus.DRAFT, GoalStatus.PROPOSED),
        "return": manage and goal.status == GoalStatus.PROPOSED,
        "close": manage and goal.status == GoalStatus.APPROVED,
        "checkin": goal.status == GoalStatus.APPROVED
        and (
            manage
            or goal.owner_membership_id == actor.pk
            or (goal.level == GoalLevel.TEAM and actor.team_id == goal.owner_team_id)
        ),
        "delete": edit and goal.status in (GoalStatus.DRAFT, GoalStatus.PROPOSED),
    }


def goal_update(tenant: Tenant, *, actor: Membership, goal: Goal, **fields: Any) -> Goal:
    """Change a goal's SMART fields; the whole goal is checked again. Owners
    edit their own drafts and proposals; managers and admins any goal they manage."""
    refuse_unknown_fields(fields, allowed=GOAL_FIELDS)
    if not _can_edit_goal(tenant, actor=actor, goal=goal):
        raise PermissionDenied("You cannot change this goal.")
    data = {name: getattr(goal, name) for name in GOAL_FIELDS}
    data.update(fields)
    if data.get("parent") is not None and data["parent"].pk == goal.pk:
        raise ValidationError({"parent": "A goal cannot support itself."})
    target, baseline = _goal_check(tenant, data)
    if "level" in fields or "owner_membership" in fields or "owner_team" in fields:
        _goal_owner_allowed(
            tenant,
            actor=actor,
            level=data["level"],
            owner_membership=data["owner_membership"],
            owner_team=data["owner_team"],
        )
    with transaction.atomic():
        locked = Goal.objects.select_for_update().get(tenant=tenant, pk=goal.pk)
        changes = {}
        data["target_value"], data["baseline_value"] = target, baseline
        if data["level"] != GoalLevel.MEMBER:
            data["owner_membership"] = None
        if data["level"] != GoalLevel.TEAM:
            data["owner_team"] = None
        for name in GOAL_FIELDS:
            old = getattr(locked, name)
            if old != data[name]:
                changes[name] = [str(old), str(data[name])]
                setattr(locked, name, data[name])
        locked.save()
        if changes:
            audit_record(tenant, actor=actor.user, action="goal.update", obj=locked, data=changes)
    return locked


def _goal_transition(
    tenant: Tenant,
    *,
    actor: Membership,
    goal: Goal,
    allowed_from: set[str],
    to: str,
    action: str,
    verb: str,
    comment: str = "",
) -> Goal:
    with transaction.atomic():
        locked = Goal.objects.select_for_update().get(tenant=tenant, pk=goal.pk)
        if locked.status not in allowed_from:
            raise ValidationError(
                {"status": f"A {locked.get_status_display().lower()} goal cannot be {verb}."}
            )
        old = locked.status
        locked.status = to
        fields = ["status"]
        if to == GoalStatus.APPROVED:
            locked.approved_by, locked.approved_at = actor, timezone.now()
            fields += ["approved_by", "approved_at"]
        locked.save(update_fields=fields)
        audit_record(
            tenant,
            actor=actor.user,
            action=action,
            obj=locked,
            data={"from": old, "to": to, **({"comment": comment} if comment else {})},
        )
        events.publish(
            events.GoalStatusChanged(
                tenant_id=tenant.pk,
                goal_id=locked.pk,
                owner_membership_id=locked.owner_membership_id,
                owner_team_id=locked.owner_team_id,
                old_status=old,
                new_status=to,
                actor_id=actor.pk,
            )
        )
    return locked


def goal_submit(tenant: Tenant, *, actor: Membership, goal: Goal) -> Goal:
    """Propose a draft goal for approval (its owner or a manager)."""
    if not _can_edit_goal(tenant, actor=actor, goal=goal):
        raise PermissionDenied("You cannot propose this goal.")
    return _goal_transition(
        tenant,
        actor=actor,
        goal=goal,
        allowed_from={GoalStatus.DRAFT},
        to=GoalStatus.PROPOSED,
        action="goal.propose",
        verb="proposed",
    )


def goal_approve(tenant: Tenant, *, actor: Membership, goal: Goal) -> Goal:
    """Approve a draft or proposed goal: the owner's manager (or an admin), never the owner."""
    if not _can_manage_goal(tenant, actor=actor, goal=goal):
        raise PermissionDenied("Only the owner's manager or an admin approves this goal.")
    return _goal_transition(
        tenant,
        actor=actor,
        goal=goal,
        allowed_from={GoalStatus.DRAFT, GoalStatus.PROPOSED},
        to=GoalStatus.APPROVED,
        action="goal.approve",
        verb="approved",
    )


def goal_return(tenant: Tenant, *, actor: Membership, goal: Goal, comment: str = "") -> Goal:
    """Send a proposed goal back to draft, with a comment for its owner."""
    if not _can_manage_goal(tenant, actor=actor, goal=goal):
        raise PermissionDenied("Only the owner's manager or an admin returns this goal.")
    return _goal_transition(
        tenant,
        actor=actor,
        goal=goal,
        allowed_from={GoalStatus.PROPOSED},
        to=GoalStatus.DRAFT,
        action="goal.return",
        verb="returned",
        comment=comment,
    )


def goal_close(tenant: Tenant, *, actor: Membership, goal: Goal, achieved: bool) -> Goal:
    """Mark an approved goal achieved or missed (the owner's manager or an admin)."""
    if not _can_manage_goal(tenant, actor=actor, goal=goal):
        raise PermissionDenied("Only the owner's manager or an admin closes this goal.")
    return _goal_transition(
        tenant,
        actor=actor,
        goal=goal,
        allowed_from={GoalStatus.APPROVED},
        to=GoalStatus.ACHIEVED if achieved else GoalStatus.MISSED,
        action="goal.close",
        verb="closed",
    )


def goal_delete(tenant: Tenant, *, actor: Membership, goal: Goal) -> None:
    """Delete a draft or proposed goal that no other goal supports."""
    if not _can_edit_goal(tenant, actor=actor, goal=goal):
        raise PermissionDenied("You cannot delete this goal.")
    if goal.status not in (GoalStatus.DRAFT, GoalStatus.PROPOSED):
        raise ValidationError({"status": "Only draft and proposed goals can be deleted."})
    with transaction.atomic():
        if Goal.objects.filter(tenant=tenant, parent=goal).exists():
            raise ValidationError({"parent": "Other goals support this one; re-align them first."})
        audit_record(
            tenant, actor=actor.user, action="goal.delete", obj=goal, data={"title": goal.title}
        )
        goal.delete()


def goal_progress_record(tenant: Tenant, *, values: dict[int, Decimal]) -> int:
    """Write the current value of KPI-metric goals (called by the KPI engine).

    ``values`` maps goal id -> current metric value. Manual goals are left to
    their check-ins. Returns the number of goals updated.
    """
    now = timezone.now()
    goals = list(
        Goal.objects.filter(tenant=tenant, pk__in=list(values)).exclude(metric=Metric.MANUAL)
    )
    for goal in goals:
        goal.progress_value = values[goal.pk]
        goal.progress_updated_at = now
    with transaction.atomic():
        Goal.objects.bulk_update(goals, ["progress_value", "progress_updated_at"])
    return len(goals)
