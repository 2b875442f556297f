"""Demo forecasting: the category history that follows the stage history,
two years of calls (reps call near what they will book, sandbagging a little
early in the quarter; managers add an adjustment), weekly snapshots of this
quarter so far, tonight's statistical forecast and the backtest of the past
six quarters, so the forecast pages have something to show on first start."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from pipeline.demo.data import at_time
from pipeline.forecast.backtest import backtest_period, periods_to_backtest
from pipeline.forecast.selectors import ZERO, forecast_figures, forecast_tree
from pipeline.forecast.snapshots import forecast_snapshot_take
from pipeline.forecast.stats import stat_forecast_compute
from pipeline.models import CategoryChange, ChangeSource, Deal, ForecastCall, Stage
from spm.models import FiscalPeriod, Tenant
from spm.money import round_half_up

CALL_WEEKS = (1, 3, 5, 8, 11)
PAST_QUARTERS = 6


def category_history_create(
    tenant: Tenant,
    *,
    rng: random.Random,
    deals: list[Deal],
    paths: list[list[tuple[Stage, dt.date]]],
) -> None:
    """A category change wherever a stage move changed the stage's category."""
    changes: list[CategoryChange] = []
    for deal, path in zip(deals, paths, strict=True):
        previous = ""
        for stage, day in path:
            if stage.forecast_category != previous:
                changes.append(
                    CategoryChange(
                        tenant=tenant,
                        deal=deal,
                        from_category=previous,
                        to_category=stage.forecast_category,
                        changed_at=at_time(day, rng),
                        changed_by=deal.owner,
                        source=ChangeSource.DEMO,
                    )
                )
                previous = stage.forecast_category
    CategoryChange.objects.bulk_create(changes, batch_size=5000)


def _calls(
    tenant: Tenant, *, rng: random.Random, period: FiscalPeriod, today: dt.date
) -> list[ForecastCall]:
    """Calls of one quarter at the call weeks up to ``today``: a rep calls
    their bookings (past quarters) or closed + commit (this one) times a
    factor that starts low and closes in; a manager submits the sum of their
    reports' latest calls with an adjustment of a few percent."""
    tree = forecast_tree(tenant)
    figures = forecast_figures(tenant, period=period)
    rows: list[ForecastCall] = []
    latest: dict[int, Decimal] = {}
    order = [pk for root in tree.roots for pk in reversed(tree.subtree(root))]
    for week in CALL_WEEKS:
        day = period.start + dt.timedelta(weeks=week)
        if day > min(today, period.end):
            break
        spread = 0.3 - 0.025 * week
        for pk in order:
            reports = tree.reports.get(pk, [])
            own = figures.get(pk)
            if reports:
                rollup = sum((latest.get(r, ZERO) for r in reports), ZERO)
                amount = round_half_up(rollup * Decimal(str(rng.uniform(0.95, 1.08))))
            elif own is not None:
                base = own.closed if period.end < today else own.default_call
                rollup = base
                amount = round_half_up(
                    base * Decimal(str(rng.uniform(0.9 - spread, 1.0 + spread / 2)))
                )
            else:
                continue
            latest[pk] = amount
            rows.append(
                ForecastCall(
                    tenant=tenant,
                    period=period,
                    member_id=pk,
                    rollup=rollup,
                    adjustment=amount - rollup,
                    amount=amount,
                    note="",
                    submitted_at=at_time(day, rng),
                    submitted_by_id=pk,
                )
            )
    return rows


def seed_forecasts(
    tenant: Tenant,
    *,
    rng: random.Random,
    today: dt.date,
    deals: list[Deal],
    paths: list[list[tuple[Stage, dt.date]]],
) -> None:
    """The forecasting demo data (see the module docstring)."""
    category_history_create(tenant, rng=rng, deals=deals, paths=paths)
    past = periods_to_backtest(tenant, today=today, count=PAST_QUARTERS)
    current = FiscalPeriod.objects.get(
        tenant=tenant, kind="quarter", start__lte=today, end__gte=today
    )
    calls: list[ForecastCall] = []
    for period in [*past, current]:
        calls += _calls(tenant, rng=rng, period=period, today=today)
    ForecastCall.objects.bulk_create(calls, batch_size=5000)
    day = current.start
    while day <= today:
        forecast_snapshot_take(tenant, period=current, day=day)
        day += dt.timedelta(weeks=1)
    stat_forecast_compute(tenant, period=current, day=today)
    for period in past:
        backtest_period(tenant, period=period)
