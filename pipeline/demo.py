"""Demo data of the pipeline pillar: about 18 months of leads, deals, stage
history, splits and activities for a tenant, deterministic for a given rng
and day. Called by ``spm.demo.seed_demo`` inside the tenant's context.

Everything is built in memory and written with ``bulk_create`` (one insert
per table and batch), so a tenant of ~25 reps seeds in a few seconds.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from pipeline import services
from pipeline.models import (
    Account,
    Activity,
    ActivityKind,
    AidaStage,
    ChangeSource,
    Deal,
    DealSplit,
    DealStatus,
    DealType,
    Lead,
    Pipeline,
    Stage,
    StageChange,
)
from pipeline.services import HUNDRED, split_rows
from spm.demo import DemoPeople
from spm.models import Membership, Tenant
from spm.selectors import period_containing

HISTORY_DAYS = 548  # about 18 months
SEGMENTS = ["SMB", "Mid-market", "Enterprise"]
INDUSTRIES = [
    "Software",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Financial services",
    "Logistics",
    "Education",
    "Energy",
]
COMPANY_A = [
    "Blue",
    "North",
    "Silver",
    "Bright",
    "Summit",
    "Cedar",
    "Harbor",
    "Iron",
    "Maple",
    "Nova",
    "Orbit",
    "Pine",
    "Quartz",
    "River",
    "Stone",
    "Terra",
    "Urban",
    "Vertex",
    "Willow",
    "Zenith",
]
COMPANY_B = [
    "Analytics",
    "Foods",
    "Logistics",
    "Health",
    "Systems",
    "Labs",
    "Energy",
    "Retail",
    "Works",
    "Bank",
    "Motors",
    "Media",
    "Robotics",
    "Pharma",
    "Textiles",
    "Networks",
]
SUFFIXES = ["Inc", "Ltd", "GmbH", "Group", "Co", "AG", "LLC", "SA"]
PRODUCT_LINES = ["Platform", "Analytics add-on", "Services", "Support plus"]
SOURCES = ["Inbound", "Outbound", "Partner", "Event", "Referral"]
CAMPAIGNS = ["Webinar series", "Trade show", "Paid search", "Newsletter", "Partner co-marketing"]
LOST_REASONS = ["Price", "Chose a competitor", "No budget", "No decision", "Timing"]
OUTCOMES = {
    ActivityKind.CALL: ["Connected", "Left voicemail", "No answer", "Follow-up booked"],
    ActivityKind.EMAIL: ["Sent", "Replied", "No reply"],
    ActivityKind.MEETING: ["Held", "Rescheduled", "Next steps agreed"],
    ActivityKind.DEMO: ["Positive", "Mixed", "Needs follow-up"],
}
FIRST = [
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Robin",
    "Jamie",
    "Avery",
    "Riley",
    "Drew",
    "Kai",
    "Noor",
    "Ilse",
    "Mateo",
    "Yara",
]
LAST = [
    "Keller",
    "Nguyen",
    "Santos",
    "Olsen",
    "Brandt",
    "Moreno",
    "Walsh",
    "Kim",
    "Haddad",
    "Ruiz",
    "Fontaine",
    "Berger",
    "Lund",
    "Ivanova",
]


@dataclass
class RepProfile:
    member: Membership
    win_rate: float
    size: float  # typical deal amount
    speed: float  # multiplier on days per stage
    deals_per_month: float


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(
        day, dt.time(9 + rng.randint(0, 8), rng.randint(0, 59)), tzinfo=dt.UTC
    )


def _money(value: float) -> Decimal:
    return Decimal(int(round(value, -2))).quantize(Decimal("0.01"))


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _current_pipeline(
    tenant: Tenant,
    *,
    rng: random.Random,
    today: dt.date,
    profiles: list[RepProfile],
    accounts_by_owner: dict[int, list[Account]],
    pipelines: tuple[Pipeline, Pipeline],
    stages_by_pipeline: dict[int, list[Stage]],
    first_number: int,
) -> list[tuple[Deal, list[tuple[Stage, dt.date]]]]:
    """Open deals a sales team works right now: every open stage held (more
    early than late), expected closes over this quarter and the next (later
    stages sooner), and about one in eight slipping past its expected close.
    Each deal's history walks the stages up to its current one, all in the past."""
    new_business, renewals = pipelines
    quarter = period_containing(tenant, day=today, kind="quarter")
    q_start = quarter.start if quarter else _add_months(today, -((today.month - 1) % 3))
    this_end = _add_months(q_start, 3) - dt.timedelta(days=1)
    next_end = _add_months(q_start, 6) - dt.timedelta(days=1)
    out: list[tuple[Deal, list[tuple[Stage, dt.date]]]] = []
    for profile in profiles:
        rep = profile.member
        if rep.start_date > today - dt.timedelta(days=14) or (
            rep.end_date is not None and rep.end_date <= today
        ):
            continue
        for _ in range(rng.randint(5, 9)):
            roll = rng.random()
            deal_type = (
                DealType.NEW_BUSINESS
                if roll < 0.65
                else (DealType.EXPANSION if roll < 0.88 else DealType.RENEWAL)
            )
            pipeline = renewals if deal_type == DealType.RENEWAL else new_business
            open_stages = [
                s
                for s in stages_by_pipeline[pipeline.pk]
                if s.status == DealStatus.OPEN and s.is_active
            ]
            weights = [5, 4, 4, 3, 2, 2, 2, 2][: len(open_stages)]
            depth = rng.choices(range(len(open_stages)), weights=weights)[0]
            steps = [max(2, int(rng.expovariate(1 / (8 * profile.speed)))) for _ in range(depth)]
            days_in_stage = rng.randint(1, 21)
            created = today - dt.timedelta(days=sum(steps) + days_in_stage)
            created = max(created, rep.start_date)
            path: list[tuple[Stage, dt.date]] = []
            day = created
            for index, stage in enumerate(open_stages[: depth + 1]):
                path.append((stage, min(day, today)))
                if index < depth:
                    day += dt.timedelta(days=steps[index])
            late = depth >= len(open_stages) - 2
            when = rng.random()
            if when < 0.12:
                expected = today - dt.timedelta(days=rng.randint(3, 35))
            elif when < (0.8 if late else 0.5) and this_end > today:
                expected = today + dt.timedelta(days=rng.randint(1, (this_end - today).days))
            else:
                expected = this_end + dt.timedelta(days=rng.randint(1, (next_end - this_end).days))
            stage = path[-1][0]
            account = rng.choice(accounts_by_owner[rep.pk])
            amount = _money(
                max(
                    1500.0,
                    rng.lognormvariate(0, 0.45)
                    * profile.size
                    * (0.6 if deal_type == DealType.EXPANSION else 1.0),
                )
            )
            product = rng.choice(PRODUCT_LINES)
            deal = Deal(
                tenant=tenant,
                name=f"{account.name} · {product}",
                account=account,
                owner=rep,
                amount=amount,
                currency=tenant.currency,
                exchange_rate=Decimal("1"),
                base_amount=amount,
                pipeline=pipeline,
                stage=stage,
                probability=stage.probability,
                forecast_category=stage.forecast_category,
                expected_close_date=expected,
                status=DealStatus.OPEN,
                close_date=None,
                deal_type=deal_type,
                product_line=product,
                source=rng.choice(SOURCES),
                external_id=f"DEMO-DEAL-{first_number + len(out):06d}",
                created_on=created,
            )
            out.append((deal, path))
    return out


def seed(tenant: Tenant, *, rng: random.Random, today: dt.date, people: DemoPeople) -> None:
    """Create the tenant's pipeline history (see the module docstring)."""
    new_business = services.pipeline_create_default(tenant)
    renewals = services.pipeline_create(tenant, name="Renewals", actor=None)
    stages_by_pipeline = {
        p.pk: list(Stage.objects.filter(tenant=tenant, pipeline=p).order_by("position"))
        for p in (new_business, renewals)
    }
    start = today - dt.timedelta(days=HISTORY_DAYS)
    reps = people.reps
    team_size_factor: dict[int | None, float] = {
        team.pk: 0.7 + 0.25 * index for index, team in enumerate(people.teams)
    }
    profiles = [
        RepProfile(
            member=rep,
            win_rate=rng.uniform(0.18, 0.48),
            size=rng.uniform(9000, 42000) * team_size_factor.get(rep.team_id, 1.0),
            speed=rng.uniform(0.7, 1.5),
            deals_per_month=rng.uniform(2.5, 5.0),
        )
        for rep in reps
    ]

    # Accounts: a book of accounts per rep.
    accounts: list[Account] = []
    used_names: set[str] = set()
    for profile in profiles:
        for _ in range(rng.randint(8, 12)):
            name = f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)} {rng.choice(SUFFIXES)}"
            while name in used_names:
                name = f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)} {rng.choice(SUFFIXES)}"
            used_names.add(name)
            accounts.append(
                Account(
                    tenant=tenant,
                    name=name,
                    segment=rng.choice(SEGMENTS),
                    industry=rng.choice(INDUSTRIES),
                    owner=profile.member,
                    external_id=f"DEMO-ACC-{len(accounts) + 1:05d}",
                )
            )
    Account.objects.bulk_create(accounts, batch_size=2000)
    accounts_by_owner: dict[int, list[Account]] = {}
    for account in accounts:
        accounts_by_owner.setdefault(account.owner_id, []).append(account)  # type: ignore[arg-type]

    deals: list[Deal] = []
    paths: list[list[tuple[Stage, dt.date]]] = []
    first_win: dict[int, dt.date] = {}
    for profile in profiles:
        rep = profile.member
        rep_start = max(start, rep.start_date)
        rep_end = min(today, rep.end_date) if rep.end_date else today
        if rep_end <= rep_start:
            continue
        months = (rep_end - rep_start).days / 30.4
        for _ in range(int(months * profile.deals_per_month)):
            created = rep_start + dt.timedelta(days=rng.randint(0, (rep_end - rep_start).days))
            account = rng.choice(accounts_by_owner[rep.pk])
            roll = rng.random()
            deal_type = (
                DealType.NEW_BUSINESS
                if roll < 0.6
                else (DealType.EXPANSION if roll < 0.85 else DealType.RENEWAL)
            )
            pipeline = renewals if deal_type == DealType.RENEWAL else new_business
            stages = stages_by_pipeline[pipeline.pk]
            open_stages = [s for s in stages if s.status == DealStatus.OPEN and s.is_active]
            won_stage = next(s for s in stages if s.is_won)
            post_sale = stages[-1]
            lost_stage = next(s for s in stages if s.is_lost)
            wins = rng.random() < profile.win_rate * (
                1.25 if deal_type != DealType.NEW_BUSINESS else 1.0
            )
            lose_at = rng.randint(1, len(open_stages)) if not wins else None
            path: list[tuple[Stage, dt.date]] = []
            day = created
            for index, stage in enumerate(open_stages, start=1):
                if day > today:
                    break
                path.append((stage, day))
                day += dt.timedelta(days=max(1, int(rng.expovariate(1 / (9 * profile.speed)))))
                if lose_at == index:
                    break
            final_day = day
            if final_day <= today and len(path) == len(open_stages) and wins:
                path.append((won_stage, final_day))
                first_win[account.pk] = min(first_win.get(account.pk, final_day), final_day)  # type: ignore[index]
                if final_day + dt.timedelta(days=30) <= today and rng.random() < 0.5:
                    path.append((post_sale, final_day + dt.timedelta(days=30)))
            elif final_day <= today and lose_at is not None and len(path) == lose_at:
                path.append((lost_stage, final_day))
            last_stage, last_day = path[-1]
            amount = _money(
                max(
                    1500.0,
                    rng.lognormvariate(0, 0.45)
                    * profile.size
                    * (0.6 if deal_type == DealType.EXPANSION else 1.0),
                )
            )
            status = last_stage.status
            close_date = (
                (path[-2][1] if last_stage is post_sale else last_day) if status != "open" else None
            )
            expected = close_date or max(
                today + dt.timedelta(days=rng.randint(5, 120)), created + dt.timedelta(days=45)
            )
            deal = Deal(
                tenant=tenant,
                name=f"{account.name} · {rng.choice(PRODUCT_LINES)}",
                account=account,
                owner=rep,
                amount=amount,
                currency=tenant.currency,
                exchange_rate=Decimal("1"),
                base_amount=amount,
                pipeline=pipeline,
                stage=last_stage,
                probability=last_stage.probability,
                forecast_category=last_stage.forecast_category,
                expected_close_date=expected,
                status=status,
                close_date=close_date,
                lost_reason=rng.choice(LOST_REASONS) if status == "lost" else "",
                deal_type=deal_type,
                product_line=rng.choice(PRODUCT_LINES),
                source=rng.choice(SOURCES),
                external_id=f"DEMO-DEAL-{len(deals) + 1:06d}",
                created_on=created,
            )
            deals.append(deal)
            paths.append(path)
    for deal, path in _current_pipeline(
        tenant,
        rng=rng,
        today=today,
        profiles=profiles,
        accounts_by_owner=accounts_by_owner,
        pipelines=(new_business, renewals),
        stages_by_pipeline=stages_by_pipeline,
        first_number=len(deals) + 1,
    ):
        deals.append(deal)
        paths.append(path)
    Deal.objects.bulk_create(deals, batch_size=2000)

    # Stage history, with the rep (or a manager, now and then) as the mover.
    changes: list[StageChange] = []
    for deal, path in zip(deals, paths, strict=True):
        previous = None
        for stage, day in path:
            changes.append(
                StageChange(
                    tenant=tenant,
                    deal=deal,
                    from_stage=previous,
                    to_stage=stage,
                    changed_at=_at(day, rng),
                    changed_by=deal.owner,
                    source=ChangeSource.DEMO,
                )
            )
            previous = stage
    StageChange.objects.bulk_create(changes, batch_size=5000)

    # Splits: most deals credit their owner; about one in eight shares with a teammate.
    teammates: dict[int | None, list[Membership]] = {}
    for rep in reps:
        teammates.setdefault(rep.team_id, []).append(rep)
    splits: list[DealSplit] = []
    custom: list[Deal] = []
    for deal in deals:
        mates = [m for m in teammates.get(deal.owner.team_id, []) if m.pk != deal.owner_id]
        if mates and rng.random() < 0.12:
            share = Decimal(rng.choice([60, 70, 80]))
            pairs = [(deal.owner_id, share), (rng.choice(mates).pk, HUNDRED - share)]
            deal.custom_splits = True
            custom.append(deal)
        else:
            pairs = [(deal.owner_id, HUNDRED)]
        splits.extend(split_rows(deal, pairs))
    DealSplit.objects.bulk_create(splits, batch_size=5000)
    Deal.objects.filter(tenant=tenant, pk__in=[d.pk for d in custom]).update(custom_splits=True)

    # Customers since their first win; a few churned since.
    churned = 0
    for account in accounts:
        won_on = first_win.get(account.pk)  # type: ignore[arg-type]
        if won_on is None:
            continue
        account.customer_since = won_on
        if won_on + dt.timedelta(days=120) < today and rng.random() < 0.08:
            account.churned_on = won_on + dt.timedelta(days=rng.randint(90, (today - won_on).days))
            churned += 1
    Account.objects.bulk_update(accounts, ["customer_since", "churned_on"], batch_size=1000)

    # Leads through the funnel; those reaching Action convert into one of the owner's deals.
    deals_by_owner: dict[int, list[Deal]] = {}
    for deal in deals:
        deals_by_owner.setdefault(deal.owner_id, []).append(deal)
    leads: list[Lead] = []
    for profile in profiles:
        rep = profile.member
        rep_start = max(start, rep.start_date)
        rep_end = min(today, rep.end_date) if rep.end_date else today
        if rep_end <= rep_start:
            continue
        quality = 0.8 + profile.win_rate
        for _ in range(int((rep_end - rep_start).days / 30.4 * rng.uniform(7, 12))):
            aware = rep_start + dt.timedelta(days=rng.randint(0, (rep_end - rep_start).days))
            dates = {AidaStage.AWARENESS: aware}
            day = aware
            for stage, chance in (
                (AidaStage.INTEREST, 0.45 * quality),
                (AidaStage.DECISION, 0.42 * quality),
                (AidaStage.ACTION, 0.5 * quality),
            ):
                day = day + dt.timedelta(days=rng.randint(3, 30))
                if day > today or rng.random() > chance:
                    break
                dates[stage] = day
            reached = list(dates)[-1]
            converted = None
            if reached == AidaStage.ACTION and deals_by_owner.get(rep.pk):
                converted = rng.choice(deals_by_owner[rep.pk])
            leads.append(
                Lead(
                    tenant=tenant,
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    company=f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}",
                    email=f"lead{len(leads) + 1}@example.com",
                    stage=reached,
                    awareness_on=aware,
                    interest_on=dates.get(AidaStage.INTEREST),
                    decision_on=dates.get(AidaStage.DECISION),
                    action_on=dates.get(AidaStage.ACTION),
                    source=rng.choice(SOURCES),
                    campaign=rng.choice(CAMPAIGNS),
                    owner=rep,
                    converted_deal=converted,
                    external_id=f"DEMO-LEAD-{len(leads) + 1:06d}",
                )
            )
    Lead.objects.bulk_create(leads, batch_size=5000)

    # Activities: a few per deal while it was open, and a touch on some leads.
    activities: list[Activity] = []
    kinds = [ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING, ActivityKind.DEMO]
    for deal, path in zip(deals, paths, strict=True):
        first_day = path[0][1]
        last_day = min(path[-1][1], today)
        for _ in range(rng.randint(1, 5)):
            kind = rng.choices(kinds, weights=[4, 4, 2, 1])[0]
            span = max(0, (last_day - first_day).days)
            activities.append(
                Activity(
                    tenant=tenant,
                    kind=kind,
                    subject=f"{kind.label} about {deal.product_line}",
                    occurred_on=first_day + dt.timedelta(days=rng.randint(0, span)),
                    member=deal.owner,
                    outcome=rng.choice(OUTCOMES[kind]),
                    deal=deal,
                    account=deal.account,
                )
            )
    for lead in leads[::4]:
        activities.append(
            Activity(
                tenant=tenant,
                kind=ActivityKind.EMAIL,
                subject="Introduction",
                occurred_on=lead.awareness_on,
                member=lead.owner,
                outcome=rng.choice(OUTCOMES[ActivityKind.EMAIL]),
                lead=lead,  # type: ignore[misc]
            )
        )
    Activity.objects.bulk_create(activities, batch_size=5000)
