"""Review cycles: an admin opens a cycle for a period with a template of
questions; each rep writes a self review, their manager a review with a
proposed overall rating; each side sees the other's answers once both are
submitted; the rep acknowledges the final review; the admin closes the cycle.
A review is complete when its second side is submitted: that publishes
``ReviewCompleted`` (webhooks send it as ``review.completed``).

A review submitted twice, or once the cycle is closed, is refused with a
``ValidationError`` naming the field; nothing is saved.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from coaching.models import CycleStatus, Review, ReviewCycle
from coaching.services.notifications import notify_review_step
from spm import events
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant
from spm.reach import Reach
from spm.services import audit_record

KINDS = ("rating", "text")


def questions_check(questions: Any) -> list[dict[str, str]]:
    """A template's questions as ``[{"key", "text", "kind"}]``; raises
    ``ValidationError`` naming ``questions[i].<field>``."""
    if not isinstance(questions, list) or not questions:
        raise ValidationError({"questions": "Give at least one question."})
    seen: set[str] = set()
    clean = []
    for i, q in enumerate(questions):
        where = f"questions[{i}]"
        if not isinstance(q, dict):
            raise ValidationError({where: "Each question is an object with key, text and kind."})
        key, text, kind = (str(q.get(name, "")).strip() for name in ("key", "text", "kind"))
        if not key or not key.replace("_", "").isalnum():
            raise ValidationError({f"{where}.key": "Use letters, digits and _ for the key."})
        if key in seen:
            raise ValidationError({f"{where}.key": f"The key {key} is used twice."})
        if not text:
            raise ValidationError({f"{where}.text": "Write the question."})
        if kind not in KINDS:
            raise ValidationError({f"{where}.kind": "Choose rating or text."})
        seen.add(key)
        clean.append({"key": key, "text": text, "kind": kind})
    return clean


def _nearest_managers(tenant: Tenant, reps: list[Membership]) -> dict[int, int | None]:
    """Rep id -> the manager of their nearest team up the tree (one query)."""
    teams = {t.pk: t for t in Team.objects.filter(tenant=tenant)}
    out: dict[int, int | None] = {}
    for rep in reps:
        team = teams.get(rep.team_id) if rep.team_id else None
        manager = None
        while team is not None and manager is None:
            if team.manager_id and team.manager_id != rep.pk:
                manager = team.manager_id
            team = teams.get(team.parent_id) if team.parent_id else None
        out[rep.pk] = manager
    return out


def cycle_open(
    tenant: Tenant,
    *,
    actor: Membership,
    name: str,
    period: FiscalPeriod,
    questions: Any,
    rating_scale: int = 5,
) -> ReviewCycle:
    """Open a cycle for ``period`` with one review per rep active in it,
    each with their nearest manager (admins only)."""
    if not Reach(actor).is_admin:
        raise PermissionDenied("Only admins open review cycles.")
    if not name.strip():
        raise ValidationError({"name": "Name the cycle."})
    if not 2 <= rating_scale <= 10:
        raise ValidationError({"rating_scale": "Rate on a scale of 2 to 10."})
    clean = questions_check(questions)
    reps = list(
        Membership.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gte=period.start),
            tenant=tenant,
            role=Role.REP,
            is_active=True,
            start_date__lte=period.end,
        )
    )
    managers = _nearest_managers(tenant, reps)
    try:
        with transaction.atomic():
            cycle = ReviewCycle.objects.create(
                tenant=tenant,
                name=name.strip(),
                period=period,
                questions=clean,
                rating_scale=rating_scale,
                opened_by=actor,
            )
            Review.objects.bulk_create(
                Review(tenant=tenant, cycle=cycle, member=rep, manager_id=managers[rep.pk])
                for rep in reps
            )
            audit_record(
                tenant,
                actor=actor.user,
                action="coaching.cycle_open",
                obj=cycle,
                data={"reviews": len(reps)},
            )
    except IntegrityError as error:
        raise ValidationError(
            {"name": f"There is already a cycle named {name.strip()}."}
        ) from error
    return cycle


def cycle_close(tenant: Tenant, *, actor: Membership, cycle: ReviewCycle) -> ReviewCycle:
    if not Reach(actor).is_admin:
        raise PermissionDenied("Only admins close review cycles.")
    if cycle.status == CycleStatus.CLOSED:
        raise ValidationError({"status": f"The cycle {cycle.name} is already closed."})
    with transaction.atomic():
        cycle.status, cycle.closed_at = CycleStatus.CLOSED, timezone.now()
        cycle.save(update_fields=["status", "closed_at"])
        audit_record(tenant, actor=actor.user, action="coaching.cycle_close", obj=cycle)
    return cycle


def _answers_check(cycle: ReviewCycle, answers: Any) -> dict[str, Any]:
    if not isinstance(answers, dict):
        raise ValidationError({"answers": "Answer with an object: question key -> answer."})
    clean: dict[str, Any] = {}
    for q in cycle.questions:
        key, value = q["key"], answers.get(q["key"])
        field = f"answers.{key}"
        if q["kind"] == "rating":
            if (
                isinstance(value, bool)
                or not isinstance(value, int | str)
                or not str(value).isdigit()
            ):
                raise ValidationError({field: f"Rate from 1 to {cycle.rating_scale}."})
            if not 1 <= int(value) <= cycle.rating_scale:
                raise ValidationError({field: f"Rate from 1 to {cycle.rating_scale}."})
            clean[key] = int(value)
        else:
            if not isinstance(value, str) or not value.strip():
                raise ValidationError({field: "Answer the question."})
            clean[key] = value.strip()
    unknown = sorted(set(answers) - set(clean))
    if unknown:
        raise ValidationError({f"answers.{unknown[0]}": "Not a question of this cycle."})
    return clean


def _open_cycle(review: Review, *, field: str) -> None:
    if review.cycle.status == CycleStatus.CLOSED:
        raise ValidationError({field: f"The cycle {review.cycle.name} is closed."})


def _completed(tenant: Tenant, review: Review) -> None:
    if review.both_submitted:
        events.publish(
            events.ReviewCompleted(
                tenant_id=tenant.pk, review_id=review.pk, membership_id=review.member_id
            )
        )


def review_submit_self(
    tenant: Tenant, *, actor: Membership, review: Review, answers: Any
) -> Review:
    """The rep's self review (once, while the cycle is open)."""
    if actor.pk != review.member_id:
        raise PermissionDenied("Only the person reviewed writes the self review.")
    _open_cycle(review, field="self_answers")
    clean = _answers_check(review.cycle, answers)
    with transaction.atomic():
        locked = Review.objects.select_for_update().get(tenant=tenant, pk=review.pk)
        if locked.self_submitted_at is not None:
            raise ValidationError({"self_answers": "You already submitted your self review."})
        locked.self_answers, locked.self_submitted_at = clean, timezone.now()
        locked.save(update_fields=["self_answers", "self_submitted_at"])
        audit_record(tenant, actor=actor.user, action="coaching.review_self", obj=locked)
        notify_review_step(tenant, review=locked, step="self")
        _completed(tenant, locked)
    locked.cycle = review.cycle
    return locked


def review_submit_manager(
    tenant: Tenant, *, actor: Membership, review: Review, answers: Any, overall_rating: Any
) -> Review:
    """The manager's review with the proposed overall rating (once, while the
    cycle is open); the member's coach writes it."""
    if not Reach(actor).may_coach(review.member):
        raise PermissionDenied("Only someone who manages this person writes their review.")
    _open_cycle(review, field="manager_answers")
    clean = _answers_check(review.cycle, answers)
    scale = review.cycle.rating_scale
    if (
        isinstance(overall_rating, bool)
        or not str(overall_rating).isdigit()
        or not (1 <= int(overall_rating) <= scale)
    ):
        raise ValidationError({"overall_rating": f"Propose a rating from 1 to {scale}."})
    with transaction.atomic():
        locked = Review.objects.select_for_update().get(tenant=tenant, pk=review.pk)
        if locked.manager_submitted_at is not None:
            raise ValidationError({"manager_answers": "The manager review was already submitted."})
        locked.manager_answers, locked.manager_submitted_at = clean, timezone.now()
        locked.overall_rating, locked.manager = int(overall_rating), actor
        locked.save(
            update_fields=["manager_answers", "manager_submitted_at", "overall_rating", "manager"]
        )
        audit_record(tenant, actor=actor.user, action="coaching.review_manager", obj=locked)
        notify_review_step(tenant, review=locked, step="manager")
        _completed(tenant, locked)
    locked.cycle = review.cycle
    return locked


def review_acknowledge(tenant: Tenant, *, actor: Membership, review: Review) -> Review:
    """The rep acknowledges the final review (both sides submitted)."""
    if actor.pk != review.member_id:
        raise PermissionDenied("Only the person reviewed acknowledges the review.")
    if not review.both_submitted:
        raise ValidationError({"acknowledged_at": "Both reviews must be submitted first."})
    if review.acknowledged_at is not None:
        raise ValidationError({"acknowledged_at": "You already acknowledged this review."})
    with transaction.atomic():
        review.acknowledged_at = timezone.now()
        review.save(update_fields=["acknowledged_at"])
        audit_record(tenant, actor=actor.user, action="coaching.review_acknowledge", obj=review)
        notify_review_step(tenant, review=review, step="acknowledged")
    return review
