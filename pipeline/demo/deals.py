"""The demo deals: about 18 months of history per rep (won, lost, still open)
and today's open pipeline."""

from __future__ import annotations

import datetime as dt
import random

from pipeline.demo.data import (
    LOST_REASONS,
    PRODUCT_LINES,
    SOURCES,
    RepProfile,
    active_profiles,
    add_months,
    demo_deal,
    money,
)
from pipeline.models import (
    Account,
    Deal,
    DealStatus,
    DealType,
    Pipeline,
    Stage,
)
from spm.models import Tenant
from spm.selectors import period_containing


def past_deals(
    tenant: Tenant,
    *,
    rng: random.Random,
    today: dt.date,
    start: dt.date,
    profiles: list[RepProfile],
    accounts_by_owner: dict[int, list[Account]],
    pipelines: tuple[Pipeline, Pipeline],
    stages_by_pipeline: dict[int, list[Stage]],
) -> tuple[list[Deal], list[list[tuple[Stage, dt.date]]], dict[int, dt.date]]:
    """Each rep's deals since they started: a path through the stages (won,
    lost, or still open), amounts by the rep's profile. Returns the deals (not
    saved), their stage paths and each account's first win."""
    new_business, renewals = pipelines
    deals: list[Deal] = []
    paths: list[list[tuple[Stage, dt.date]]] = []
    first_win: dict[int, dt.date] = {}
    for profile, rep_start, rep_end in active_profiles(profiles, start=start, today=today):
        rep = profile.member
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
            amount = money(
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
            deal = demo_deal(
                tenant,
                name=f"{account.name} · {rng.choice(PRODUCT_LINES)}",
                account=account,
                rep=rep,
                amount=amount,
                pipeline=pipeline,
                stage=last_stage,
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
    return deals, paths, first_win


def current_pipeline(
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
    q_start = quarter.start if quarter else add_months(today, -((today.month - 1) % 3))
    this_end = add_months(q_start, 3) - dt.timedelta(days=1)
    next_end = add_months(q_start, 6) - dt.timedelta(days=1)
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
            amount = money(
                max(
                    1500.0,
                    rng.lognormvariate(0, 0.45)
                    * profile.size
                    * (0.6 if deal_type == DealType.EXPANSION else 1.0),
                )
            )
            product = rng.choice(PRODUCT_LINES)
            deal = demo_deal(
                tenant,
                name=f"{account.name} · {product}",
                account=account,
                rep=rep,
                amount=amount,
                pipeline=pipeline,
                stage=stage,
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
