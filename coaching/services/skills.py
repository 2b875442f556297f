"""The skills framework, assessments, development plans, training and practice.

A member assesses themselves (``self``); whoever coaches them (their manager
up the tree, an admin) assesses them as ``manager``. Levels run from 1 to the
tenant's ``skill_levels``. Refused input raises ``ValidationError`` naming the
field and saves nothing.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from coaching.models import (
    DEFAULT_SKILLS,
    ActionItem,
    Assessment,
    AssessmentKind,
    DevelopmentItem,
    PracticeLog,
    PracticeRating,
    Skill,
    TrainingAssignment,
)
from coaching.services.meetings import settings_of
from spm.models import Membership, Tenant
from spm.reach import Reach
from spm.services import audit_record


def _require_admin(actor: Membership) -> None:
    if not Reach(actor).is_admin:
        raise PermissionDenied("Only admins change the skills framework.")


def skills_ensure_default(tenant: Tenant, *, actor: Membership | None) -> list[Skill]:
    """Give a tenant without skills the default framework (prospecting,
    discovery, demo, negotiation, closing, product knowledge); a tenant that
    has skills keeps them. ``actor`` None: the demo seeder."""
    if actor is not None:
        _require_admin(actor)
    with transaction.atomic():
        if not Skill.objects.filter(tenant=tenant).exists():
            Skill.objects.bulk_create(
                Skill(tenant=tenant, name=name, description=text, position=i)
                for i, (name, text) in enumerate(DEFAULT_SKILLS)
            )
            audit_record(
                tenant, actor=actor.user if actor else None, action="coaching.skills_default"
            )
    return list(Skill.objects.filter(tenant=tenant).order_by("position", "name"))


def skill_save(
    tenant: Tenant,
    *,
    actor: Membership,
    name: str,
    description: str = "",
    position: int = 0,
    is_active: bool = True,
    skill: Skill | None = None,
) -> Skill:
    """Create or edit a skill of the framework (admins); names are unique."""
    _require_admin(actor)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the skill."})
    skill = skill or Skill(tenant=tenant)
    skill.name, skill.description, skill.position, skill.is_active = (
        name,
        description,
        position,
        is_active,
    )
    try:
        with transaction.atomic():
            skill.save()
            audit_record(tenant, actor=actor.user, action="coaching.skill_save", obj=skill)
    except IntegrityError as error:
        raise ValidationError({"name": f"There is already a skill named {name}."}) from error
    return skill


def _check_level(tenant: Tenant, level: int, *, field: str = "level") -> None:
    top = settings_of(tenant).skill_levels
    if not 1 <= level <= top:
        raise ValidationError({field: f"Choose a level from 1 to {top}."})


def _check_coach(actor: Membership, member: Membership, *, field: str = "member") -> None:
    """The member themselves or someone who coaches them."""
    if member.pk != actor.pk and not Reach(actor).may_coach(member):
        raise ValidationError({field: "Choose yourself or someone you manage."})


def assessment_record(
    tenant: Tenant,
    *,
    actor: Membership,
    member: Membership,
    skill: Skill,
    level: int,
    assessed_on: dt.date,
    comment: str = "",
) -> Assessment:
    """Record ``member``'s level in ``skill``: a self assessment when the actor
    is the member, a manager assessment when the actor coaches them."""
    _check_coach(actor, member)
    if skill.tenant_id != tenant.pk:
        raise ValidationError({"skill": "Choose a skill of this company."})
    _check_level(tenant, level)
    kind = AssessmentKind.SELF if actor.pk == member.pk else AssessmentKind.MANAGER
    with transaction.atomic():
        assessment = Assessment.objects.create(
            tenant=tenant,
            member=member,
            skill=skill,
            assessor=actor,
            kind=kind,
            level=level,
            assessed_on=assessed_on,
            comment=comment,
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="coaching.assessment_record",
            obj=assessment,
            data={"kind": kind, "level": level},
        )
    return assessment


def training_assign(
    tenant: Tenant,
    *,
    actor: Membership,
    member: Membership,
    title: str,
    due_on: dt.date,
    link: str = "",
    skill: Skill | None = None,
) -> TrainingAssignment:
    """Assign a course or material to ``member`` (themselves or their coach)."""
    _check_coach(actor, member)
    if not title.strip():
        raise ValidationError({"title": "Name the training."})
    training = TrainingAssignment(
        tenant=tenant,
        member=member,
        title=title.strip(),
        link=link,
        due_on=due_on,
        skill=skill,
        assigned_by=actor,
    )
    try:
        training.full_clean(exclude=["tenant", "member", "skill", "assigned_by"])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error
    with transaction.atomic():
        training.save()
        audit_record(tenant, actor=actor.user, action="coaching.training_assign", obj=training)
    return training


def training_complete(
    tenant: Tenant, *, actor: Membership, training: TrainingAssignment, completed_on: dt.date | None
) -> TrainingAssignment:
    """Mark a training completed on a day (None: not completed)."""
    _check_coach(actor, training.member, field="training")
    with transaction.atomic():
        training.completed_on = completed_on
        training.save(update_fields=["completed_on"])
        audit_record(tenant, actor=actor.user, action="coaching.training_complete", obj=training)
    return training


def practice_log(
    tenant: Tenant,
    *,
    actor: Membership,
    member: Membership,
    scenario: str,
    practiced_on: dt.date,
    ratings: dict[Skill, int],
    customer_played_by: Membership | None = None,
    feedback: str = "",
) -> PracticeLog:
    """Log a practice or role-play with a rating per skill (each on the skill scale)."""
    _check_coach(actor, member)
    if not scenario.strip():
        raise ValidationError({"scenario": "Describe the scenario."})
    for skill, rating in ratings.items():
        if skill.tenant_id != tenant.pk:
            raise ValidationError({"ratings": "Rate skills of this company."})
        _check_level(tenant, rating, field="ratings")
    with transaction.atomic():
        log = PracticeLog.objects.create(
            tenant=tenant,
            member=member,
            scenario=scenario.strip(),
            practiced_on=practiced_on,
            customer_played_by=customer_played_by,
            feedback=feedback,
            logged_by=actor,
        )
        PracticeRating.objects.bulk_create(
            PracticeRating(tenant=tenant, log=log, skill=skill, rating=rating)
            for skill, rating in ratings.items()
        )
        audit_record(tenant, actor=actor.user, action="coaching.practice_log", obj=log)
    return log


def development_item_add(
    tenant: Tenant,
    *,
    actor: Membership,
    member: Membership,
    skill: Skill,
    target_level: int,
    note: str = "",
    action: ActionItem | None = None,
    training: TrainingAssignment | None = None,
) -> DevelopmentItem:
    """Add a line to ``member``'s development plan: a skill to reach
    ``target_level`` in, with the action item and training that serve it
    (both the member's)."""
    _check_coach(actor, member)
    _check_level(tenant, target_level, field="target_level")
    if action is not None and action.member_id != member.pk:
        raise ValidationError({"action": f"Choose an action item of {member.display_name}."})
    if training is not None and training.member_id != member.pk:
        raise ValidationError({"training": f"Choose a training of {member.display_name}."})
    with transaction.atomic():
        item = DevelopmentItem.objects.create(
            tenant=tenant,
            member=member,
            skill=skill,
            target_level=target_level,
            note=note,
            action=action,
            training=training,
        )
        audit_record(tenant, actor=actor.user, action="coaching.development_add", obj=item)
    return item
