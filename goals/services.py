"""Every write of the goals pillar: quotas, seasonality profiles, goals,
check-ins, objectives and scores.

Services take the tenant first and keyword-only arguments, own their
transaction, check the actor's scope and the closed-period rule, and write
their audit rows (and the quota history) in that transaction. They raise
``ValidationError`` naming the field at fault and ``PermissionDenied`` when
the actor may see but not change the object.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from goals import csvio, engine, selectors
from goals.models import (
    Goal,
    GoalCheckIn,
    GoalLevel,
    GoalStatus,
    Measure,
    Metric,
    Objective,
    ObjectiveScore,
    Quota,
    QuotaChange,
    QuotaSource,
    SeasonalityProfile,
)
from goals.smart import smart_check
from pipeline.selectors import won_bookings_by_member
from spm.db.locks import lock_key
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant
from spm.periods import active_days
from spm.services import audit_record

# Quotas -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaInput:
    """One quota to write: exactly one of ``membership`` and ``team``."""

    period: FiscalPeriod
    amount: Decimal
    membership: Membership | None = None
    team: Team | None = None
    measure: str = Measure.BOOKINGS

    @property
    def key(self) -> tuple[str, int, str]:
        subject = f"m{self.membership.pk}" if self.membership else f"t{self.team.pk}"  # type: ignore[union-attr]
        return subject, self.period.pk, self.measure


def _lock_quotas(tenant: Tenant) -> None:
    """Serialise quota writes per tenant, so check-then-write cannot race."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [tenant.pk, lock_key("goals.quotas")]
        )


def _closed_message(period: FiscalPeriod) -> str:
    return f"{period.label} is closed; its quotas cannot be changed."


def _validate_quota_input(
    tenant: Tenant, scope: selectors.QuotaScope, item: QuotaInput
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if (item.membership is None) == (item.team is None):
        errors["membership"] = "Give either a member or a team, not both and not neither."
        return errors
    if item.period.tenant_id != tenant.pk:
        errors["period"] = "Choose a period of this tenant."
    elif item.period.is_closed:
        errors["period"] = _closed_message(item.period)
    if item.measure not in Measure.values:
        errors["measure"] = (
            f"'{item.measure}' is not a measure; use one of {', '.join(Measure.values)}."
        )
    if item.amount is None:
        errors["amount"] = "Enter an amount."
    elif item.amount < 0:
        errors["amount"] = "A quota cannot be negative."
    elif item.amount != item.amount.quantize(engine.CENT):
        errors["amount"] = "Use at most two decimal places."
    elif item.amount >= Decimal("1e16"):
        errors["amount"] = "The amount is too large."
    if item.membership is not None:
        m = item.membership
        if m.tenant_id != tenant.pk or not scope.can_write(membership_id=m.pk, team_id=None):
            errors["membership"] = "You cannot set quotas for this member."
        elif (
            "period" not in errors
            and active_days(item.period.start, item.period.end, m.start_date, m.end_date) == 0
        ):
            errors["membership"] = (
                f"{m.display_name} is not active in {item.period.label} "
                f"(active {m.start_date:%Y-%m-%d} to {m.end_date or 'now'})."
            )
    elif item.team is not None and (
        item.team.tenant_id != tenant.pk
        or not scope.can_write(membership_id=None, team_id=item.team.pk)
    ):
        errors["team"] = "You cannot set quotas for this team."
    return errors


def _upsert_quotas(
    tenant: Tenant, *, actor: Membership, items: Sequence[QuotaInput], source: str
) -> list[Quota]:
    """Create or update quotas in bulk and write one history row per change.
    Caller holds the transaction and the quota lock and has validated items."""
    period_ids = {i.period.pk for i in items}
    member_ids = {i.membership.pk for i in items if i.membership is not None}
    team_ids = {i.team.pk for i in items if i.team is not None}
    existing = {
        (q.subject_key, q.period_id, q.measure): q
        for q in Quota.objects.select_for_update()
        .filter(tenant=tenant, period_id__in=period_ids)
        .filter(Q(membership_id__in=member_ids) | Q(team_id__in=team_ids))
    }
    to_create: list[Quota] = []
    to_update: list[Quota] = []
    history: list[QuotaChange] = []
    result: list[Quota] = []
    for item in items:
        quota = existing.get(item.key)
        if quota is None:
            quota = Quota(
                tenant=tenant,
                period=item.period,
                membership=item.membership,
                team=item.team,
                measure=item.measure,
                amount=item.amount,
                source=source,
                updated_by=actor.user,
            )
            to_create.append(quota)
            existing[item.key] = quota
            old = None
        elif quota.amount == item.amount:
            result.append(quota)
            continue
        else:
            old = quota.amount
            quota.amount = item.amount
            quota.source = source
            quota.updated_by = actor.user
            quota.updated_at = timezone.now()
            if quota.pk is not None and quota not in to_update:
                to_update.append(quota)
        history.append(
            QuotaChange(
                tenant=tenant,
                quota=quota,
                period=item.period,
                membership=item.membership,
                team=item.team,
                measure=item.measure,
                old_amount=old,
                new_amount=item.amount,
                source=source,
                changed_by=actor.user,
            )
        )
        result.append(quota)
    Quota.objects.bulk_create(to_create)
    if to_update:
        Quota.objects.bulk_update(to_update, ["amount", "source", "updated_by", "updated_at"])
    for change in history:
        change.quota_id = change.quota.pk  # type: ignore[union-attr]
    QuotaChange.objects.bulk_create(history)
    return result


def quota_set(
    tenant: Tenant,
    *,
    actor: Membership,
    period: FiscalPeriod,
    amount: Decimal,
    membership: Membership | None = None,
    team: Team | None = None,
    measure: str = Measure.BOOKINGS,
    source: str = QuotaSource.MANUAL,
) -> Quota:
    """Set the quota of a member or a team for a period (create or change).

    Refused (ValidationError naming the field) when the period is closed, the
    amount is negative or has more than two decimals, the member is not active
    in the period, or the actor may not set this subject's quotas.
    """
    item = QuotaInput(
        period=period, amount=amount, membership=membership, team=team, measure=measure
    )
    scope = selectors.quota_scope(tenant, viewer=actor)
    errors = _validate_quota_input(tenant, scope, item)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock_quotas(tenant)
        period.refresh_from_db(fields=["is_closed"])
        if period.is_closed:
            raise ValidationError({"period": _closed_message(period)})
        (quota,) = _upsert_quotas(tenant, actor=actor, items=[item], source=source)
        audit_record(
            tenant,
            actor=actor.user,
            action="quota.set",
            obj=quota,
            data={"amount": str(amount), "period": period.label, "subject": quota.subject_key},
        )
    return quota


def quota_delete(tenant: Tenant, *, actor: Membership, quota: Quota) -> None:
    """Remove a quota of an open period; its history is kept."""
    scope = selectors.quota_scope(tenant, viewer=actor)
    if not scope.can_write(membership_id=quota.membership_id, team_id=quota.team_id):
        raise PermissionDenied("You cannot change this quota.")
    with transaction.atomic():
        _lock_quotas(tenant)
        period = FiscalPeriod.objects.get(tenant=tenant, pk=quota.period_id)
        if period.is_closed:
            raise ValidationError({"period": _closed_message(period)})
        QuotaChange.objects.create(
            tenant=tenant,
            quota=None,
            period=period,
            membership_id=quota.membership_id,
            team_id=quota.team_id,
            measure=quota.measure,
            old_amount=quota.amount,
            new_amount=None,
            source=QuotaSource.MANUAL,
            changed_by=actor.user,
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="quota.delete",
            obj=quota,
            data={"amount": str(quota.amount), "period": period.label},
        )
        quota.delete()


def quota_bulk_upsert(
    tenant: Tenant, *, actor: Membership, items: Sequence[QuotaInput], source: str = QuotaSource.API
) -> list[Quota]:
    """Create or update many quotas at once, all or nothing.

    Errors name the row and field (``rows[3].amount``); a subject and period
    given twice is refused. Returns the quotas in the order of ``items``.
    """
    if not items:
        raise ValidationError({"rows": "Give at least one quota."})
    scope = selectors.quota_scope(tenant, viewer=actor)
    errors: dict[str, str] = {}
    seen: set[tuple[str, int, str]] = set()
    for index, item in enumerate(items):
        for name, message in _validate_quota_input(tenant, scope, item).items():
            errors[f"rows[{index}].{name}"] = message
        if (item.membership is None) != (item.team is None):
            if item.key in seen:
                errors[f"rows[{index}].period"] = "This subject and period appear twice."
            seen.add(item.key)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock_quotas(tenant)
        closed = FiscalPeriod.objects.filter(
            tenant=tenant, pk__in={i.period.pk for i in items}, is_closed=True
        ).first()
        if closed is not None:
            raise ValidationError({"period": _closed_message(closed)})
        quotas = _upsert_quotas(tenant, actor=actor, items=items, source=source)
        audit_record(
            tenant,
            actor=actor.user,
            action="quota.bulk_upsert",
            data={"rows": len(items), "source": source},
        )
    return quotas


class AllocationMethod:
    PRIOR_BOOKINGS = "prior_bookings"
    EQUAL = "equal"
    MANUAL = "manual"
    CHOICES = [
        (PRIOR_BOOKINGS, "Share of prior-period bookings"),
        (EQUAL, "Equal shares"),
        (MANUAL, "Weights entered by hand"),
    ]


@dataclass
class AllocationPart:
    target: Membership | Team
    weight: Decimal
    amount: Decimal

    @property
    def key(self) -> str:
        return f"m{self.target.pk}" if isinstance(self.target, Membership) else f"t{self.target.pk}"

    @property
    def label(self) -> str:
        return self.target.display_name if isinstance(self.target, Membership) else self.target.name


@dataclass
class Allocation:
    team: Team
    period: FiscalPeriod
    team_quota: Quota
    allocated_total: Decimal
    parts: list[AllocationPart]
    prior_period: FiscalPeriod | None = None


def allocation_weights(
    tenant: Tenant,
    *,
    team: Team,
    period: FiscalPeriod,
    method: str,
    targets: Sequence[Membership | Team],
    manual: dict[str, Decimal] | None = None,
) -> tuple[list[Decimal], FiscalPeriod | None]:
    """The weights of ``targets`` for ``method``; with prior bookings, each
    rep's credited won bookings in the previous period of the same kind (a
    sub-team's weight is the sum of its reps')."""
    if method == AllocationMethod.EQUAL:
        return engine.equal_weights(len(targets)), None
    if method == AllocationMethod.MANUAL:
        manual = manual or {}
        weights = []
        for t in targets:
            key = f"m{t.pk}" if isinstance(t, Membership) else f"t{t.pk}"
            if key not in manual:
                name = t.display_name if isinstance(t, Membership) else t.name
                raise ValidationError({"weights": f"Enter a weight for {name}."})
            weights.append(manual[key])
        return weights, None
    if method != AllocationMethod.PRIOR_BOOKINGS:
        raise ValidationError({"method": f"'{method}' is not an allocation method."})
    prior = selectors.previous_period(tenant, period=period)
    if prior is None:
        raise ValidationError(
            {"method": f"There is no period before {period.label}; choose equal shares."}
        )
    bookings = won_bookings_by_member(tenant, start=prior.start, end=prior.end)
    if targets and isinstance(targets[0], Membership):
        weights = [bookings.get(t.pk, Decimal(0)) for t in targets]
    else:
        reps_by_team = selectors.rep_ids_by_subtree(tenant, teams=list(targets))  # type: ignore[arg-type]
        weights = [
            sum((bookings.get(m, Decimal(0)) for m in reps_by_team[t.pk]), Decimal(0))
            for t in targets
        ]
    if not any(weights):
        raise ValidationError(
            {
                "method": f"No bookings were won in {prior.label}; "
                "choose equal shares or enter weights."
            }
        )
    return weights, prior


def quota_allocate(
    tenant: Tenant,
    *,
    actor: Membership,
    team: Team,
    period: FiscalPeriod,
    amount: Decimal,
    method: str = AllocationMethod.PRIOR_BOOKINGS,
    manual_weights: dict[str, Decimal] | None = None,
    unit: Decimal = Decimal("1"),
    factor: Decimal = Decimal("1"),
    measure: str = Measure.BOOKINGS,
) -> Allocation:
    """Allocate a team quota top-down (FORMULAS.md section 1).

    Sets the team's quota to ``amount`` and its reps' (or, for a team without
    reps, its sub-teams') quotas to ``factor x amount`` split by the weights
    with largest-remainder rounding to ``unit``. Reps not active in the period
    get nothing. Every written quota gets a history row; one audit row.
    """
    targets = selectors.allocation_targets(tenant, team=team, period=period)
    if not targets:
        raise ValidationError(
            {"team": f"{team.name} has no reps active in {period.label} and no sub-teams."}
        )
    weights, prior = allocation_weights(
        tenant, team=team, period=period, method=method, targets=targets, manual=manual_weights
    )
    amounts = engine.allocate(amount, weights, unit=unit, factor=factor)
    items = [QuotaInput(period=period, amount=amount, team=team, measure=measure)]
    for target, part in zip(targets, amounts, strict=True):
        if isinstance(target, Membership):
            items.append(QuotaInput(period=period, amount=part, membership=target, measure=measure))
        else:
            items.append(QuotaInput(period=period, amount=part, team=target, measure=measure))
    scope = selectors.quota_scope(tenant, viewer=actor)
    for item in items:
        errors = _validate_quota_input(tenant, scope, item)
        if errors:
            raise ValidationError(errors)
    with transaction.atomic():
        _lock_quotas(tenant)
        if FiscalPeriod.objects.filter(tenant=tenant, pk=period.pk, is_closed=True).exists():
            raise ValidationError({"period": _closed_message(period)})
        quotas = _upsert_quotas(tenant, actor=actor, items=items, source=QuotaSource.ALLOCATED)
        audit_record(
            tenant,
            actor=actor.user,
            action="quota.allocate",
            obj=team,
            data={
                "period": period.label,
                "amount": str(amount),
                "method": method,
                "unit": str(unit),
                "factor": str(factor),
                "parts": {
                    (f"m{t.pk}" if isinstance(t, Membership) else f"t{t.pk}"): str(a)
                    for t, a in zip(targets, amounts, strict=True)
                },
            },
        )
    return Allocation(
        team=team,
        period=period,
        team_quota=quotas[0],
        allocated_total=sum(amounts, Decimal(0)),
        parts=[AllocationPart(t, w, a) for t, w, a in zip(targets, weights, amounts, strict=True)],
        prior_period=prior,
    )


def quota_spread(
    tenant: Tenant,
    *,
    actor: Membership,
    period: FiscalPeriod,
    members: Iterable[Membership] = (),
    teams: Iterable[Team] = (),
    measure: str = Measure.BOOKINGS,
    profile: SeasonalityProfile | None = None,
) -> list[Quota]:
    """Spread the quarter or year quotas of the given subjects to the months
    inside ``period``: evenly, or by a seasonality profile's weights for those
    months. Amounts are in cents and add up to the source quota exactly.
    Subjects without a quota in ``period`` are skipped; none at all is an error.
    """
    if period.kind == "month":
        raise ValidationError({"period": "Choose a quarter or a year to spread to months."})
    months = list(
        FiscalPeriod.objects.filter(
            tenant=tenant, kind="month", start__gte=period.start, end__lte=period.end
        ).order_by("start")
    )
    if profile is not None:
        all_weights = profile.decimal_weights
        weights = [all_weights[m.number - 1] for m in months]
        if not any(weights):
            raise ValidationError(
                {"profile": f"{profile.name} gives no weight to the months of {period.label}."}
            )
    else:
        weights = engine.equal_weights(len(months))
    member_ids = [m.pk for m in members]
    team_ids = [t.pk for t in teams]
    sources = list(
        Quota.objects.filter(tenant=tenant, period=period, measure=measure)
        .filter(Q(membership_id__in=member_ids) | Q(team_id__in=team_ids))
        .select_related("membership__user", "team")
    )
    if not sources:
        raise ValidationError({"period": f"There is no quota for {period.label} to spread."})
    items = []
    for source in sources:
        for month, part in zip(months, engine.spread(source.amount, weights), strict=True):
            items.append(
                QuotaInput(
                    period=month,
                    amount=part,
                    membership=source.membership,
                    team=source.team,
                    measure=measure,
                )
            )
    scope = selectors.quota_scope(tenant, viewer=actor)
    errors: dict[str, str] = {}
    for item in items:
        if (
            item.membership is not None
            and active_days(
                item.period.start,
                item.period.end,
                item.membership.start_date,
                item.membership.end_date,
            )
            == 0
        ):
            continue
        errors.update(_validate_quota_input(tenant, scope, item))
    if errors:
        raise ValidationError(errors)
    items = [
        i
        for i in items
        if i.membership is None
        or active_days(i.period.start, i.period.end, i.membership.start_date, i.membership.end_date)
        > 0
    ]
    with transaction.atomic():
        _lock_quotas(tenant)
        closed = FiscalPeriod.objects.filter(
            tenant=tenant, pk__in=[m.pk for m in months], is_closed=True
        ).first()
        if closed is not None:
            raise ValidationError({"period": _closed_message(closed)})
        quotas = _upsert_quotas(tenant, actor=actor, items=items, source=QuotaSource.SPREAD)
        audit_record(
            tenant,
            actor=actor.user,
            action="quota.spread",
            data={
                "period": period.label,
                "subjects": [s.subject_key for s in sources],
                "profile": profile.name if profile else "even",
            },
        )
    return quotas


# Seasonality profiles -------------------------------------------------------------------


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
    if actor.role not in (Role.ADMIN, Role.MANAGER):
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
    if actor.role not in (Role.ADMIN, Role.MANAGER):
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


# Goals ----------------------------------------------------------------------------------

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
    result = smart_check(
        title=data.get("title"),
        metric=data.get("metric"),
        target_value=data.get("target_value"),
        baseline_value=data.get("baseline_value"),
        rationale=data.get("rationale"),
        level=data.get("level", ""),
        parent=parent,
        start_date=data.get("start_date"),
        due_date=data.get("due_date"),
    )
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
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.MANAGER or goal.level == GoalLevel.COMPANY:
        return False
    if goal.owner_membership_id == actor.pk:
        return False
    members, teams = selectors.goals_writable_owner_scope(tenant, viewer=actor)
    if goal.level == GoalLevel.TEAM:
        return teams is None or goal.owner_team_id in teams
    return members is None or goal.owner_membership_id in members


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
    unknown = set(fields) - set(GOAL_FIELDS)
    if unknown:
        raise ValidationError(
            {name: "This field cannot be changed here." for name in sorted(unknown)}
        )
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


# Check-ins --------------------------------------------------------------------------------


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
    if checkin.author_id != actor.pk and actor.role != Role.ADMIN:
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


# Objectives -------------------------------------------------------------------------------


def _objective_locked_message(period: FiscalPeriod) -> str:
    return f"{period.label} is closed; its objectives and scores are locked."


def can_manage_objectives(tenant: Tenant, *, actor: Membership, membership: Membership) -> bool:
    """Admins, and managers for the people in the teams they manage (not themselves)."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.MANAGER or membership.pk == actor.pk:
        return False
    scope = selectors.quota_scope(tenant, viewer=actor)
    return scope.can_write(membership_id=membership.pk, team_id=None)


def _check_objective_write(
    tenant: Tenant, *, actor: Membership, membership: Membership, period: FiscalPeriod
) -> None:
    if membership.tenant_id != tenant.pk or not can_manage_objectives(
        tenant, actor=actor, membership=membership
    ):
        raise PermissionDenied("Only the member's manager or an admin sets their objectives.")
    if period.is_closed:
        raise ValidationError({"period": _objective_locked_message(period)})


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
        if total > 1:
            raise ValidationError(
                {
                    "weight": f"The weights would add up to {engine.percent(total)}; "
                    "they must add up to 100%."
                }
            )
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
    allowed = {"title", "description", "weight", "score_cap"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(
            {name: "This field cannot be changed here." for name in sorted(unknown)}
        )
    _check_objective_write(
        tenant, actor=actor, membership=objective.membership, period=objective.period
    )
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
        if total > 1:
            raise ValidationError(
                {
                    "weight": f"The weights would add up to {engine.percent(total)}; "
                    "they must add up to 100%."
                }
            )
        score = ObjectiveScore.objects.filter(tenant=tenant, objective=objective).first()
        if score is not None and score.score > cap:
            raise ValidationError(
                {"score_cap": f"The objective is already scored {engine.percent(score.score)}."}
            )
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
    _check_objective_write(
        tenant, actor=actor, membership=objective.membership, period=objective.period
    )
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
        over_cap = ObjectiveScore.objects.filter(tenant=tenant, objective__in=saved).select_related(
            "objective"
        )
        for score in over_cap:
            if score.score > score.objective.score_cap:
                raise ValidationError(
                    {
                        "score_cap": f"'{score.objective.title}' is already scored "
                        f"{engine.percent(score.score)}."
                    }
                )
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
    """Score an objective (0 to its cap; 0.8 is 80%). The member's manager or
    an admin scores; the set's weights must add up to 100% first; scores of a
    closed period are locked."""
    _check_objective_write(
        tenant, actor=actor, membership=objective.membership, period=objective.period
    )
    if score is None or score < 0:
        raise ValidationError({"score": "A score is 0% or more."})
    if score > objective.score_cap:
        raise ValidationError(
            {"score": f"The score cannot exceed the cap of {engine.percent(objective.score_cap)}."}
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
    _check_objective_write(
        tenant, actor=actor, membership=objective.membership, period=objective.period
    )
    with transaction.atomic():
        audit_record(
            tenant,
            actor=actor.user,
            action="objective.unscore",
            obj=objective,
            data={"old": str(score.score)},
        )
        score.delete()


# CSV import of the quota grid -----------------------------------------------------------


@dataclass
class ImportResult:
    cells: int
    changed: int
    errors: list[str]


def quota_import_csv(
    tenant: Tenant, *, actor: Membership, fiscal_year: int, kind: str, measure: str, text: str
) -> ImportResult:
    """Import the quota grid's CSV (format in ``goals.csvio``), all or nothing.

    Only the teams and reps of ``actor``'s grid can be named. Returns the
    number of cells read and of quotas changed, or the errors (line and
    column named) with nothing written.
    """
    grid = selectors.quota_grid(
        tenant, viewer=actor, fiscal_year=fiscal_year, kind=kind, measure=measure
    )
    rows = {row.key: row for row in grid.rows()}
    periods = {p.label: p for p in grid.periods}
    parsed = csvio.parse_grid_csv(text, period_labels=list(periods), keys=set(rows))
    errors = list(parsed.errors)
    scope = selectors.quota_scope(tenant, viewer=actor)
    items = []
    for cell in parsed.cells:
        row = rows[cell.key]
        item = QuotaInput(
            period=periods[cell.period_label],
            amount=cell.amount,
            membership=row.membership,
            team=row.team,
            measure=measure,
        )
        current = row.cells[grid.periods.index(item.period)].amount
        if current == item.amount:
            continue
        for message in _validate_quota_input(tenant, scope, item).values():
            errors.append(f"Line {cell.line}, {cell.period_label}: {message}")
        items.append(item)
    if errors:
        return ImportResult(cells=len(parsed.cells), changed=0, errors=errors)
    if items:
        with transaction.atomic():
            _lock_quotas(tenant)
            closed = FiscalPeriod.objects.filter(
                tenant=tenant, pk__in={i.period.pk for i in items}, is_closed=True
            ).first()
            if closed is not None:
                return ImportResult(len(parsed.cells), 0, [_closed_message(closed)])
            _upsert_quotas(tenant, actor=actor, items=items, source=QuotaSource.IMPORTED)
            audit_record(
                tenant,
                actor=actor.user,
                action="quota.import",
                data={"fiscal_year": fiscal_year, "kind": kind, "changed": len(items)},
            )
    return ImportResult(cells=len(parsed.cells), changed=len(items), errors=[])
