"""The demo's other rows: accounts, stage history, splits, customers, leads
and activities, each built in memory and written with ``bulk_create``."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from pipeline.demo.data import (
    CAMPAIGNS,
    COMPANY_A,
    COMPANY_B,
    FIRST,
    INDUSTRIES,
    LAST,
    OUTCOMES,
    SEGMENTS,
    SOURCES,
    SUFFIXES,
    RepProfile,
    active_profiles,
    at_time,
)
from pipeline.models import (
    Account,
    Activity,
    ActivityKind,
    AidaStage,
    ChangeSource,
    Deal,
    DealSplit,
    Lead,
    Stage,
    StageChange,
)
from pipeline.services import HUNDRED, split_rows
from spm.models import Membership, Tenant


def accounts_create(
    tenant: Tenant, *, rng: random.Random, profiles: list[RepProfile]
) -> tuple[list[Account], dict[int, list[Account]]]:
    """A book of 8-12 accounts per rep; returns them and the accounts by owner."""
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
    return accounts, accounts_by_owner


def stage_history_create(
    tenant: Tenant,
    *,
    rng: random.Random,
    deals: list[Deal],
    paths: list[list[tuple[Stage, dt.date]]],
) -> None:
    """Each deal's path as stage changes, moved by its owner."""
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
                    changed_at=at_time(day, rng),
                    changed_by=deal.owner,
                    source=ChangeSource.DEMO,
                )
            )
            previous = stage
    StageChange.objects.bulk_create(changes, batch_size=5000)


def splits_create(
    tenant: Tenant, *, rng: random.Random, deals: list[Deal], reps: list[Membership]
) -> None:
    """Most deals credit their owner; about one in eight shares with a teammate."""
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


def customers_mark(
    *,
    rng: random.Random,
    today: dt.date,
    accounts: list[Account],
    first_win: dict[int, dt.date],
) -> None:
    """Accounts are customers since their first win; a few churned since."""
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


def leads_create(
    tenant: Tenant,
    *,
    rng: random.Random,
    today: dt.date,
    start: dt.date,
    profiles: list[RepProfile],
    deals: list[Deal],
) -> list[Lead]:
    """Leads through the AIDA funnel; those reaching Action convert into a deal of their owner."""
    # Leads through the funnel; those reaching Action convert into one of the owner's deals.
    deals_by_owner: dict[int, list[Deal]] = {}
    for deal in deals:
        deals_by_owner.setdefault(deal.owner_id, []).append(deal)
    leads: list[Lead] = []
    for profile, rep_start, rep_end in active_profiles(profiles, start=start, today=today):
        rep = profile.member
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
    return leads


def activities_create(
    tenant: Tenant,
    *,
    rng: random.Random,
    today: dt.date,
    deals: list[Deal],
    paths: list[list[tuple[Stage, dt.date]]],
    leads: list[Lead],
) -> None:
    """A few activities per deal while it was open, and a touch on some leads."""
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
