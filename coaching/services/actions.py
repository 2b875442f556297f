"""Action items: agreed in a 1:1 or a development plan, owned by the member or
their manager, due on a day, about a deal, a goal or a skill."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from coaching.models import ActionItem, ActionStatus, Meeting, Skill
from goals.models import Goal
from pipeline.models import Deal
from spm.models import Membership, Tenant
from spm.reach import Reach
from spm.services import audit_record


def _check_links(
    tenant: Tenant, *, member: Membership, deal: Deal | None, goal: Goal | None, skill: Skill | None
) -> None:
    for field, obj in (("deal", deal), ("goal", goal), ("skill", skill)):
        if obj is not None and obj.tenant_id != tenant.pk:
            raise ValidationError({field: f"Choose a {field} of this company."})
    if deal is not None and deal.owner_id != member.pk:
        raise ValidationError({"deal": f"Choose a deal of {member.display_name}."})
    if goal is not None and goal.owner_membership_id not in (None, member.pk):
        raise ValidationError({"goal": f"Choose a goal of {member.display_name}."})


def action_create(
    tenant: Tenant,
    *,
    actor: Membership,
    member: Membership,
    title: str,
    due_on: dt.date,
    owner: Membership | None = None,
    meeting: Meeting | None = None,
    deal: Deal | None = None,
    goal: Goal | None = None,
    skill: Skill | None = None,
) -> ActionItem:
    """An action item of ``member``'s coaching, done by ``owner`` (the member
    by default, or the manager who coaches them). The actor is the member or
    someone who coaches them. Raises ``ValidationError`` naming the field."""
    reach = Reach(actor)
    if actor.pk != member.pk and not reach.may_coach(member):
        raise ValidationError({"member": "Choose yourself or someone you manage."})
    owner = owner or member
    if owner.pk not in (member.pk, actor.pk) and not (meeting and owner.pk == meeting.manager_id):
        raise ValidationError({"owner": "The member or their coach owns an action item."})
    if meeting is not None and meeting.member_id != member.pk:
        raise ValidationError({"meeting": f"Choose a 1:1 with {member.display_name}."})
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Say what is to be done."})
    _check_links(tenant, member=member, deal=deal, goal=goal, skill=skill)
    with transaction.atomic():
        action = ActionItem.objects.create(
            tenant=tenant,
            member=member,
            owner=owner,
            meeting=meeting,
            title=title[:300],
            due_on=due_on,
            deal=deal,
            goal=goal,
            skill=skill,
            created_by=actor,
        )
        audit_record(tenant, actor=actor.user, action="coaching.action_create", obj=action)
    return action


def action_set_status(
    tenant: Tenant, *, actor: Membership, action: ActionItem, status: str
) -> ActionItem:
    """Mark an action item open, done or cancelled (its owner, member or coach)."""
    if status not in ActionStatus.values:
        raise ValidationError({"status": f"Choose one of {', '.join(ActionStatus.values)}."})
    if actor.pk not in (action.owner_id, action.member_id) and not Reach(actor).may_coach(
        action.member
    ):
        raise PermissionDenied("You may read this action item but not change it.")
    with transaction.atomic():
        action.status = status
        action.completed_at = timezone.now() if status == ActionStatus.DONE else None
        action.save(update_fields=["status", "completed_at"])
        audit_record(
            tenant,
            actor=actor.user,
            action="coaching.action_status",
            obj=action,
            data={"status": status},
        )
    return action
