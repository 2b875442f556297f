"""Top-down quota allocation to a team's reps or sub-teams (docs/formulas.md section 1)
and spreading quarter or year quotas to months."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from goals import engine, selectors
from goals.models import (
    Measure,
    Quota,
    QuotaSource,
    SeasonalityProfile,
)
from goals.services.quotas import (
    QUOTAS_FROZEN,
    QuotaInput,
    _lock_quotas,
    _quotas_write,
    _upsert_quotas,
    _validate_quota_input,
)
from pipeline.selectors import won_bookings_by_member
from spm.models import FiscalPeriod, Membership, Team, Tenant
from spm.periods import active_days
from spm.services import audit_record, period_require_open


class AllocationMethod:
    PRIOR_BOOKINGS = "prior_bookings"
    EQUAL = "equal"
    MANUAL = "manual"
    CHOICES = [
        (PRIOR_BOOKINGS, "Share of prior-period bookings"),
        (EQUAL, "Equal shares"),
        (MANUAL, "Weights entered by hand"),
    ]


def _target_key(target: Membership | Team) -> str:
    """``m<id>`` for a rep, ``t<id>`` for a team (form field and audit keys)."""
    return f"m{target.pk}" if isinstance(target, Membership) else f"t{target.pk}"


def _target_label(target: Membership | Team) -> str:
    return target.display_name if isinstance(target, Membership) else target.name


@dataclass
class AllocationPart:
    target: Membership | Team
    weight: Decimal
    amount: Decimal

    @property
    def key(self) -> str:
        return _target_key(self.target)

    @property
    def label(self) -> str:
        return _target_label(self.target)


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
            key = _target_key(t)
            if key not in manual:
                raise ValidationError({"weights": f"Enter a weight for {_target_label(t)}."})
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
    """Allocate a team quota top-down (docs/formulas.md section 1).

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
    with transaction.atomic():
        quotas = _quotas_write(tenant, actor=actor, items=items, source=QuotaSource.ALLOCATED)
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
                "parts": {_target_key(t): str(a) for t, a in zip(targets, amounts, strict=True)},
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
        period_require_open(tenant, period_ids=(m.pk for m in months), what=QUOTAS_FROZEN)
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
