"""Demo data of the goals pillar (called by ``spm.demo.seed_demo``).

Quotas for every rep and team over the demo history (quarters, spread to
months, prorated by the reps' dates when read), a company goal cascading to
team and rep goals with check-ins, and scored MBO objectives for past quarters.
Deterministic for a given ``rng``; bulk inserts, so it stays fast.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import cast

from django.utils import timezone

from goals import engine
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
from spm.demo import DemoPeople
from spm.models import FiscalPeriod, Membership, Tenant
from spm.periods import active_days

THOUSAND = Decimal("1000")
OBJECTIVE_TITLES = [
    ("Build a partner-sourced pipeline", Decimal("0.40")),
    ("Complete the new product certification", Decimal("0.35")),
    ("Keep CRM hygiene above 95%", Decimal("0.25")),
]
SEASONALITY = ["0.8", "0.8", "1.0", "0.9", "0.9", "1.1", "0.8", "0.8", "1.1", "1.1", "1.2", "1.5"]


def _active(member: Membership, period: FiscalPeriod) -> bool:
    return active_days(period.start, period.end, member.start_date, member.end_date) > 0


def seed(tenant: Tenant, *, rng: random.Random, today: dt.date, people: DemoPeople) -> None:
    """Create the goals pillar's demo data for ``tenant`` (inside its context):
    quotas, goals with check-ins, scored objectives (in this order: the same
    seed gives the same data)."""
    history_start = dt.date(today.year - 2, today.month, 1)
    periods = list(
        FiscalPeriod.objects.filter(tenant=tenant, end__gte=history_start).order_by("start")
    )
    current_year = next(
        p.fiscal_year for p in periods if p.kind == "year" and p.start <= today <= p.end
    )
    quarters = [p for p in periods if p.kind == "quarter" and p.fiscal_year <= current_year]
    months = list(
        FiscalPeriod.objects.filter(
            tenant=tenant, kind="month", start__gte=quarters[0].start
        ).order_by("start")
    )
    SeasonalityProfile.objects.create(tenant=tenant, name="Year-end heavy", weights=SEASONALITY)
    quotas = _quotas(tenant, rng=rng, people=people, quarters=quarters, months=months)
    year = next(p for p in periods if p.kind == "year" and p.fiscal_year == current_year)
    _goals(tenant, rng=rng, today=today, people=people, year=year, quotas=quotas)
    _objectives(tenant, rng=rng, people=people, past=[q for q in quarters if q.end < today][-2:])


def _quotas(
    tenant: Tenant,
    *,
    rng: random.Random,
    people: DemoPeople,
    quarters: list[FiscalPeriod],
    months: list[FiscalPeriod],
) -> list[Quota]:
    """Each rep a quarterly number growing 5% a year, spread evenly to months;
    each region the sum of its reps; the top team the regions' sum less 5% (the
    reps carry 105%: over-assignment). Returns the quotas written."""
    actor = people.admin
    quotas: list[Quota] = []
    base = {rep.pk: Decimal(rng.randrange(120, 220)) * THOUSAND for rep in people.reps}
    regions = people.teams[1:]
    top_team = people.teams[0]
    for quarter in quarters:
        growth = Decimal("1.05") ** (quarter.fiscal_year - quarters[0].fiscal_year)
        inside = [m for m in months if quarter.start <= m.start and m.end <= quarter.end]
        region_totals = {team.pk: Decimal(0) for team in regions}
        for rep in people.reps:
            if not _active(rep, quarter):
                continue
            amount = (base[rep.pk] * growth / THOUSAND).quantize(Decimal("1")) * THOUSAND
            quotas.append(
                Quota(
                    tenant=tenant,
                    period=quarter,
                    membership=rep,
                    amount=amount,
                    source=QuotaSource.ALLOCATED,
                    updated_by=actor.user,
                )
            )
            for month, part in zip(
                inside, engine.spread(amount, engine.equal_weights(3)), strict=True
            ):
                if _active(rep, month):
                    quotas.append(
                        Quota(
                            tenant=tenant,
                            period=month,
                            membership=rep,
                            amount=part,
                            source=QuotaSource.SPREAD,
                            updated_by=actor.user,
                        )
                    )
            team_id = cast(int, rep.team_id)
            region_totals[team_id] = region_totals.get(team_id, Decimal(0)) + amount
        for team in regions:
            quotas.append(
                Quota(
                    tenant=tenant,
                    period=quarter,
                    team=team,
                    amount=region_totals[team.pk],
                    source=QuotaSource.MANUAL,
                    updated_by=actor.user,
                )
            )
        company = sum(region_totals.values(), Decimal(0)) / Decimal("1.05")
        quotas.append(
            Quota(
                tenant=tenant,
                period=quarter,
                team=top_team,
                amount=(company / THOUSAND).quantize(Decimal("1")) * THOUSAND,
                source=QuotaSource.MANUAL,
                updated_by=actor.user,
            )
        )
    Quota.objects.bulk_create(quotas, batch_size=1000)
    QuotaChange.objects.bulk_create(
        [
            QuotaChange(
                tenant=tenant,
                quota=q,
                period=q.period,
                membership=q.membership,
                team=q.team,
                measure=Measure.BOOKINGS,
                old_amount=None,
                new_amount=q.amount,
                source=q.source,
                changed_by=actor.user,
            )
            for q in quotas
        ],
        batch_size=1000,
    )
    return quotas


def _goals(
    tenant: Tenant,
    *,
    rng: random.Random,
    today: dt.date,
    people: DemoPeople,
    year: FiscalPeriod,
    quotas: list[Quota],
) -> None:
    """Company -> regions -> two reps per region, approved, with check-ins;
    the targets are the year's quotas."""
    actor = people.admin
    regions = people.teams[1:]
    top_team = people.teams[0]
    current_year = year.fiscal_year
    company_target = sum(
        (
            q.amount
            for q in quotas
            if q.team_id == top_team.pk and q.period.fiscal_year == current_year
        ),
        Decimal(0),
    )
    company_goal = Goal.objects.create(
        tenant=tenant,
        level=GoalLevel.COMPANY,
        title=f"Book {company_target:,.0f} of new business in FY{current_year}",
        metric=Metric.BOOKINGS,
        target_value=company_target,
        rationale="New business funds the product roadmap and next year's hiring plan",
        start_date=year.start,
        due_date=year.end,
        status=GoalStatus.APPROVED,
        created_by=actor,
        approved_by=actor,
        approved_at=timezone.now(),
        progress_value=(company_target * Decimal(rng.randint(20, 60)) / 100).quantize(Decimal("1")),
    )
    checkins: list[GoalCheckIn] = []
    for team, manager in zip(regions, people.managers, strict=False):
        team_target = (
            sum(
                (
                    q.amount
                    for q in quotas
                    if q.team_id == team.pk and q.period.fiscal_year == current_year
                ),
                Decimal(0),
            )
            or THOUSAND
        )
        team_goal = Goal.objects.create(
            tenant=tenant,
            level=GoalLevel.TEAM,
            owner_team=team,
            parent=company_goal,
            title=f"{team.name} books {team_target:,.0f} of new business",
            metric=Metric.BOOKINGS,
            target_value=team_target,
            rationale=f"{team.name} carries its share of the company number",
            start_date=year.start,
            due_date=year.end,
            status=GoalStatus.APPROVED,
            created_by=people.top_manager,
            approved_by=people.top_manager,
            approved_at=timezone.now(),
            progress_value=(team_target * Decimal(rng.randint(15, 70)) / 100).quantize(
                Decimal("1")
            ),
        )
        reps = [r for r in people.reps if r.team_id == team.pk and r.end_date is None][:2]
        checkins += _rep_goals(
            tenant, rng=rng, today=today, year=year, parent=team_goal, reps=reps, manager=manager
        )
    GoalCheckIn.objects.bulk_create(checkins)


def _rep_goals(
    tenant: Tenant,
    *,
    rng: random.Random,
    today: dt.date,
    year: FiscalPeriod,
    parent: Goal,
    reps: list[Membership],
    manager: Membership,
) -> list[GoalCheckIn]:
    """A manual goal per rep (discovery calls) under the team's goal, with
    three check-ins; returns the check-ins to write."""
    checkins: list[GoalCheckIn] = []
    for rep in reps:
        target = Decimal(rng.choice([40, 60, 80]))
        goal = Goal.objects.create(
            tenant=tenant,
            level=GoalLevel.MEMBER,
            owner_membership=rep,
            parent=parent,
            title=f"Hold {target:.0f} discovery calls this quarter",
            metric=Metric.MANUAL,
            unit="calls",
            target_value=target,
            rationale="Discovery calls are the first step of every new deal",
            start_date=max(year.start, today - dt.timedelta(days=60)),
            due_date=min(year.end, today + dt.timedelta(days=30)),
            status=GoalStatus.APPROVED,
            created_by=rep,
            approved_by=manager,
            approved_at=timezone.now(),
        )
        value = Decimal(0)
        for weeks_ago in (6, 4, 2):
            value += Decimal(rng.randint(4, 12))
            checkins.append(
                GoalCheckIn(
                    tenant=tenant,
                    goal=goal,
                    author=rep,
                    value=value,
                    checked_on=today - dt.timedelta(weeks=weeks_ago),
                    comment=rng.choice(
                        [
                            "Steady week",
                            "Conference leads",
                            "Holiday slowdown",
                            "New sequence works",
                        ]
                    ),
                )
            )
        goal.progress_value = value
        goal.save(update_fields=["progress_value"])
    return checkins


def _objectives(
    tenant: Tenant, *, rng: random.Random, people: DemoPeople, past: list[FiscalPeriod]
) -> None:
    """Objectives, scored by the rep's manager, for the ``past`` quarters."""
    objectives: list[Objective] = []
    for quarter in past:
        for rep in people.reps:
            if not _active(rep, quarter):
                continue
            for position, (title, weight) in enumerate(OBJECTIVE_TITLES):
                objectives.append(
                    Objective(
                        tenant=tenant,
                        membership=rep,
                        period=quarter,
                        title=title,
                        weight=weight,
                        position=position,
                        score_cap=Decimal("1.2"),
                    )
                )
    Objective.objects.bulk_create(objectives, batch_size=1000)
    managers = {team.pk: team.manager_id for team in people.teams}
    ObjectiveScore.objects.bulk_create(
        [
            ObjectiveScore(
                tenant=tenant,
                objective=o,
                score=Decimal(rng.randrange(40, 121, 5)) / 100,
                scored_by_id=managers.get(cast(int, o.membership.team_id)),
            )
            for o in objectives
        ],
        batch_size=1000,
    )
