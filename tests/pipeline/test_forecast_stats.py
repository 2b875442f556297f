"""The statistical forecast on the database: what it learns from the stage
history, the per-deal probability and the subject rows, the refresh after a
change, and the run under a TaskRun."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
import time_machine

from pipeline import services
from pipeline.forecast.runs import stat_forecast_run
from pipeline.forecast.stats import stat_forecast_compute, stat_forecast_refresh
from pipeline.models import DealOdds, StatForecast
from spm.models import FiscalPeriod, TaskRun
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = dt.date(2027, 2, 15)


def at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC), tick=False)


def logit(p: float) -> float:
    return math.log(p / (1 - p))


@pytest.fixture
def history(world_a, in_tenant_a):
    """Six 1,000.00 deals entered Closing on 1 Jul 2026: three won on 20 Jul,
    three lost on 1 Sep. Now: rep1 won 5,000.00 on 20 Jan and has a 10,000.00
    deal in Closing since 10 Feb."""
    t, rep = world_a.tenant, world_a.rep1
    with at(dt.date(2026, 7, 1)):
        old = [
            DealFactory(
                tenant=t,
                owner=rep,
                amount=D("1000.00"),
                stage="Closing",
                created_on=dt.date(2026, 7, 1),
                expected_close_date=dt.date(2026, 9, 30),
            )
            for _ in range(6)
        ]
    with at(dt.date(2026, 7, 20)):
        for deal in old[:3]:
            services.deal_move(t, deal=deal, stage=stage_named(t, "Closed won"), actor=None)
    with at(dt.date(2026, 9, 1)):
        for deal in old[3:]:
            services.deal_move(t, deal=deal, stage=stage_named(t, "Closed lost"), actor=None)
    with at(dt.date(2027, 1, 20)):
        DealFactory(
            tenant=t,
            owner=rep,
            amount=D("5000.00"),
            stage="Closed won",
            created_on=dt.date(2027, 1, 5),
        )
    with at(dt.date(2027, 2, 10)):
        current = DealFactory(
            tenant=t,
            owner=rep,
            amount=D("10000.00"),
            stage="Closing",
            created_on=dt.date(2027, 2, 10),
        )
    q1 = FiscalPeriod.objects.get(tenant=t, kind="quarter", start=dt.date(2027, 1, 1))
    return q1, current


def expected_probability() -> float:
    # 44 days left. Closing at age 0: 3 of 6 won within 44 days; 18 observations,
    # 6 wins (base 1/3); size carries no lift (all history in one band); owner rep1
    # 3 of 6 at entry. Smoothing: 20 pseudo-observations.
    base = 1 / 3
    cell = (3 + 20 * base) / (6 + 20)
    owner = (3 + 20 * base) / (6 + 20)
    return 1 / (1 + math.exp(-(logit(cell) + logit(owner) - logit(base))))


def test_probability_and_subject_rows_from_the_tenants_history(world_a, history):
    q1, current = history
    with at(TODAY):
        run = stat_forecast_compute(world_a.tenant, period=q1, day=TODAY)

    p = expected_probability()
    odds = DealOdds.objects.get(deal=current)
    assert (run.as_of, run.deals, run.observations) == (TODAY, 1, 18)
    assert float(odds.probability) == pytest.approx(p, abs=1e-6)
    assert odds.expected == Decimal(f"{p * 10000:.2f}")
    assert (odds.age_days, odds.size_band, odds.horizon_days) == (5, 3, 44)
    rows = {
        (r.subject_kind, r.subject_id): r
        for r in StatForecast.objects.filter(period=q1, subject_kind__in=["member", "company"])
    }
    mine = rows[("member", world_a.rep1.pk)]
    assert (mine.closed, mine.open_expected, mine.new_expected) == (
        D("5000.00"),
        odds.expected,
        D("0.00"),
    )
    assert mine.expected == D("5000.00") + odds.expected
    assert {mine.p10, mine.p50, mine.p90} <= {D("5000.00"), D("15000.00")}
    assert rows[("company", 0)].expected == mine.expected
    team = StatForecast.objects.get(period=q1, subject_kind="team", subject_id=world_a.team.pk)
    assert team.expected == mine.expected


def test_a_run_is_reproducible(world_a, history):
    q1, _current = history
    with at(TODAY):
        stat_forecast_compute(world_a.tenant, period=q1, day=TODAY, simulations=200)
        first = list(StatForecast.objects.values_list("subject_id", "p10", "p50", "p90"))
        stat_forecast_compute(world_a.tenant, period=q1, day=TODAY, simulations=200)
        again = list(StatForecast.objects.values_list("subject_id", "p10", "p50", "p90"))

    assert first == again


def test_a_changed_deal_is_scored_again_from_the_stored_fit(world_a, history):
    q1, current = history
    with at(TODAY):
        stat_forecast_compute(world_a.tenant, period=q1, day=TODAY)
        services.deal_update(world_a.tenant, deal=current, actor=None, amount=D("20000.00"))
        stat_forecast_refresh(world_a.tenant, period=q1, deal_ids=[current.pk])

    p = expected_probability()
    odds = DealOdds.objects.get(deal=current)
    assert odds.expected == Decimal(f"{p * 20000:.2f}")
    company = StatForecast.objects.get(period=q1, subject_kind="company")
    assert company.expected == D("5000.00") + odds.expected


def test_the_nightly_run_records_its_task_run(world_a, history):
    with at(TODAY):
        rows = stat_forecast_run(world_a.tenant)

    run = TaskRun.objects.get(kind="forecast.statistical")
    assert (run.status, run.rows, run.message) == (
        "succeeded",
        rows,
        "FY2027 Q1 as of 2027-02-15: 1 open deals scored.",
    )
    # rep1, the other members owning nothing are absent; teams Sales, West, East; the company.
    assert rows == StatForecast.objects.count()
