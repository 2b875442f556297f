"""MBO objectives and their scores; a member's weights add up to 100%."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat

from goals import engine
from goals.models import (
    Objective,
    ObjectiveScore,
)
from goals.services.common import refuse_unknown_fields
from spm.models import FiscalPeriod, Membership, Tenant
from spm.reach import Reach
from spm.services import audit_record, period_require_open

# The highest achievement a score may record (1,000%); what counts is capped per objective.
MAX_ACHIEVEMENT = Decimal(10)

# How a closed period refuses an objective or score write (``period_require_open``).
OBJECTIVES_FROZEN = "its objectives and scores are locked"


def can_manage_objectives(tenant: Tenant, *, actor: Membership, membership: Membership) -> bool:
    """Admins, and managers for the people in the teams they manage (not themselves)."""
    return Reach(actor).manage_ids.has_member(membership.pk)


def _check_objective_write(
    tenant: Tenant, *, actor: Membership, membership: Membership, period: FiscalPeriod
) -> None:
    if membership.tenant_id != tenant.pk or not can_manage_objectives(
        tenant, actor=actor, membership=membership
    ):
        raise PermissionDenied("Only the member's manager or an admin sets their objectives.")
    period_require_open(tenant, period_ids=[period.pk], what=OBJECTIVES_FROZEN)


def _check_objective_change(tenant: Tenant, *, actor: Membership, objective: Objective) -> None:
    """``_check_objective_write`` for an existing objective's member and period."""
    _check_objective_write(
        tenant, actor=actor, membership=objective.membership, period=objective.period
    )


def _refuse_weights_over_100(total: Decimal) -> None:
    if total > 1:
        raise ValidationError(
            {
                "weight": f"The weights would add up to {engine.percent(total)}; "
                "they must add up to 100%."
            }
        )


def _validate_weight_cap(weight: Decimal, score_cap: Decimal) -> None:
    if weight is None or not (0 < weight <= 1):
        raise ValidationError({"weight": "A weight lies above 0% and at most 100%."})
    if weight != weight.quantize(Decimal("0.000001")):
        raise ValidationError({"weight": "Use at most six decimal places (0.000001 is 0.0001%)."})
    if not (1 <= score_cap <= 2):
        raise ValidationError({"score_cap": "The score cap lies between 100% and 200%."})


def _weight_total(
    tenant: Tenant,
    *,
    membership: Membership,
    period: FiscalPeriod,
    exclude: Objective | None = None,
) -> Decimal:
    qs = Objective.objects.filter(tenant=tenant, membership=membership, period=period)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return sum(qs.values_list("weight", flat=True), Decimal(0))


def objective_create(
    tenant: Tenant,
    *,
    actor: Membership,
    membership: Membership,
    period: FiscalPeriod,
    title: str,
    weight: Decimal,
    description: str = "",
    score_cap: Decimal = Decimal(1),
) -> Objective:
    """Add one objective; the set's weights may not go above 100%."""
    _check_objective_write(tenant, actor=actor, membership=membership, period=period)
    _validate_weight_cap(weight, score_cap)
    if not title.strip():
        raise ValidationError({"title": "Say what the objective is."})
    with transaction.atomic():
        Membership.objects.select_for_update().get(tenant=tenant, pk=membership.pk)
        total = _weight_total(tenant, membership=membership, period=period) + weight
        _refuse_weights_over_100(total)
        if Objective.objects.filter(
            tenant=tenant, membership=membership, period=period, title__iexact=title.strip()
        ).exists():
            raise ValidationError(
                {"title": "This member already has an objective with that title."}
            )
        position = Objective.objects.filter(
            tenant=tenant, membership=membership, period=period
        ).count()
        objective = Objective.objects.create(
            tenant=tenant,
            membership=membership,
            period=period,
            title=title.strip(),
            description=description,
            weight=weight,
            score_cap=score_cap,
            position=position,
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="objective.create",
            obj=objective,
            data={"weight": str(weight), "period": period.label},
        )
    return objective


def objective_update(
    tenant: Tenant, *, actor: Membership, objective: Objective, **fields: Any
) -> Objective:
    """Change title, description, weight or cap of an objective of an open period."""
    refuse_unknown_fields(fields, allowed={"title", "description", "weight", "score_cap"})
    _check_objective_change(tenant, actor=actor, objective=objective)
    weight = fields.get("weight", objective.weight)
    cap = fields.get("score_cap", objective.score_cap)
    _validate_weight_cap(weight, cap)
    with transaction.atomic():
        Membership.objects.select_for_update().get(tenant=tenant, pk=objective.membership_id)
        total = (
            _weight_total(
                tenant, membership=objective.membership, period=objective.period, exclude=objective
            )
            + weight
        )
        _refuse_weights_over_100(total)
        changes = {}
        for name, value in fields.items():
            if getattr(objective, name) != value:
                changes[name] = [str(getattr(objective, name)), str(value)]
                setattr(objective, name, value)
        objective.save()
        if changes:
            audit_record(
                tenant, actor=actor.user, action="objective.update", obj=objective, data=changes
            )
    return objective


def objective_delete(tenant: Tenant, *, actor: Membership, objective: Objective) -> None:
    _check_objective_change(tenant, actor=actor, objective=objective)
    with transaction.atomic():
        audit_record(
            tenant,
            actor=actor.user,
            action="objective.delete",
            obj=objective,
            data={"title": objective.title},
        )
        objective.delete()


@dataclass(frozen=True)
class ObjectiveInput:
    title: str
    weight: Decimal
    description: str = ""
    score_cap: Decimal = Decimal(1)
    pk: int | None = None


def objectives_replace(
    tenant: Tenant,
    *,
    actor: Membership,
    membership: Membership,
    period: FiscalPeriod,
    items: Sequence[ObjectiveInput],
) -> list[Objective]:
    """Save a member's whole set of objectives for a period at once: existing
    ones (by ``pk``) are updated, new ones created, missing ones deleted. The
    weights must add up to exactly 100%; errors name the row (``objectives[1].weight``)."""
    _check_objective_write(tenant, actor=actor, membership=membership, period=period)
    errors: dict[str, str] = {}
    titles: set[str] = set()
    for index, item in enumerate(items):
        try:
            _validate_weight_cap(item.weight, item.score_cap)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors[f"objectives[{index}].{name}"] = messages[0]
        if not item.title.strip():
            errors[f"objectives[{index}].title"] = "Say what the objective is."
        elif item.title.strip().lower() in titles:
            errors[f"objectives[{index}].title"] = "Two objectives have the same title."
        titles.add(item.title.strip().lower())
    if not items:
        errors["objectives"] = "Give at least one objective."
    total = sum((i.weight for i in items if i.weight is not None), Decimal(0))
    if items and total != 1:
        errors["weight"] = (
            f"The weights add up to {engine.percent(total)}; they must add up to 100%."
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Membership.objects.select_for_update().get(tenant=tenant, pk=membership.pk)
        existing = {
            o.pk: o
            for o in Objective.objects.filter(tenant=tenant, membership=membership, period=period)
        }
        keep = {i.pk for i in items if i.pk is not None}
        unknown = keep - set(existing)
        if unknown:
            raise ValidationError({"objectives": "An objective to update is not in this set."})
        Objective.objects.filter(tenant=tenant, pk__in=set(existing) - keep).delete()
        # Titles are unique per set: clear them first so a reordering cannot collide.
        Objective.objects.filter(tenant=tenant, pk__in=keep).update(
            title=Concat(Value("#"), Cast("id", CharField()))
        )
        saved = []
        for position, item in enumerate(items):
            if item.pk is not None:
                obj = existing[item.pk]
                obj.title, obj.description, obj.weight = (
                    item.title.strip(),
                    item.description,
                    item.weight,
                )
                obj.score_cap, obj.position = item.score_cap, position
                obj.save()
            else:
                obj = Objective.objects.create(
                    tenant=tenant,
                    membership=membership,
                    period=period,
                    title=item.title.strip(),
                    description=item.description,
                    weight=item.weight,
                    score_cap=item.score_cap,
                    position=position,
                )
            saved.append(obj)
        audit_record(
            tenant,
            actor=actor.user,
            action="objective.replace",
            obj=membership,
            data={
                "period": period.label,
                "objectives": [[o.title, str(o.weight)] for o in saved],
            },
        )
    return saved


def objective_score(
    tenant: Tenant, *, actor: Membership, objective: Objective, score: Decimal, comment: str = ""
) -> ObjectiveScore:
    """Record the achievement of an objective as measured (0.8 is 80%, 1.4 is
    140%, up to ``MAX_ACHIEVEMENT``); it counts in the weighted score up to the
    objective's cap (``engine.mbo_counted``). The member's manager or an admin
    scores; the set's weights must add up to 100% first; scores of a closed
    period are locked."""
    _check_objective_change(tenant, actor=actor, objective=objective)
    if score is None or score < 0:
        raise ValidationError({"score": "A score is 0% or more."})
    if score > MAX_ACHIEVEMENT:
        raise ValidationError(
            {
                "score": f"A score is at most {engine.percent(MAX_ACHIEVEMENT)} "
                f"(got {engine.percent(score)})."
            }
        )
    if score != score.quantize(Decimal("0.000001")):
        raise ValidationError({"score": "Use at most six decimal places."})
    total = _weight_total(tenant, membership=objective.membership, period=objective.period)
    if total != 1:
        raise ValidationError(
            {
                "weight": f"The weights of this set add up to {engine.percent(total)}; "
                "make them add up to 100% before scoring."
            }
        )
    with transaction.atomic():
        row = (
            ObjectiveScore.objects.select_for_update()
            .filter(tenant=tenant, objective=objective)
            .first()
        )
        old = row.score if row else None
        if row is None:
            row = ObjectiveScore.objects.create(
                tenant=tenant,
                objective=objective,
                score=score,
                comment=comment.strip(),
                scored_by=actor,
            )
        else:
            row.score, row.comment, row.scored_by = score, comment.strip(), actor
            row.save()
        audit_record(
            tenant,
            actor=actor.user,
            action="objective.score",
            obj=objective,
            data={"old": None if old is None else str(old), "new": str(score)},
        )
    return row


def objective_scores_save(
    tenant: Tenant,
    *,
    actor: Membership,
    membership: Membership,
    period: FiscalPeriod,
    scores: Sequence[tuple[int, Decimal | None, str]],
) -> dict[int, str]:
    """Score a member's set at once from (objective id, score or None, comment)
    rows; None removes a score. All or nothing: returns {objective id: message}
    for the rows refused, and then nothing is saved."""
    objectives = {
        o.pk: o
        for o in Objective.objects.filter(
            tenant=tenant, membership=membership, period=period
        ).select_related("membership", "period")
    }
    errors: dict[int, str] = {}
    with transaction.atomic():
        for pk, score, comment in scores:
            objective = objectives.get(pk)
            if objective is None:
                errors[pk] = "This objective is not in the set."
                continue
            try:
                if score is None:
                    row = ObjectiveScore.objects.filter(tenant=tenant, objective=objective).first()
                    if row is not None:
                        objective_unscore(tenant, actor=actor, score=row)
                else:
                    objective_score(
                        tenant, actor=actor, objective=objective, score=score, comment=comment
                    )
            except ValidationError as exc:
                errors[pk] = " ".join(exc.messages)
        if errors:
            transaction.set_rollback(True)
    return errors


def objective_unscore(tenant: Tenant, *, actor: Membership, score: ObjectiveScore) -> None:
    objective = score.objective
    _check_objective_change(tenant, actor=actor, objective=objective)
    with transaction.atomic():
        audit_record(
            tenant,
            actor=actor.user,
            action="objective.unscore",
            obj=objective,
            data={"old": str(score.score)},
        )
        score.delete()
