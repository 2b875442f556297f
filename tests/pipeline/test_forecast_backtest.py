"""The backtest: each method's forecast as of week 4 of a past quarter
against the bookings that followed, with nothing from after week 4."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from pipeline import services
from pipeline.forecast.backtest import accuracy_summary, backtest_period
from pipeline.forecast.services import forecast_call_submit
from pipeline.models import ForecastAccuracy
from spm.models import FiscalPeriod
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db
D = Decimal


def at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC), tick=False)


@pytest.fixture
def q4(world_a, in_tenant_a):
    """rep1's 10,000.00 deal entered Closing (80 %) on 1 Oct and was won on
    15 Nov. rep1 called 9,000.00 on 20 Oct and 10,000.00 on 20 Nov; the
    manager adjusted by +500.00 on 25 Oct."""
    t, w = world_a.tenant, world_a
    period = FiscalPeriod.objects.get(tenant=t, kind="quarter", start=dt.date(2026, 10, 1))
    with at(dt.date(2026, 10, 1)):
        deal = DealFactory(
            tenant=t,
            owner=w.rep1,
            amount=D("10000.00"),
            stage="Closing",
            created_on=dt.date(2026, 10, 1),
            expected_close_date=dt.date(2026, 11, 30),
        )
    with at(dt.date(2026, 10, 20)):
        forecast_call_submit(t, period=period, actor=w.rep1, amount=D("9000.00"))
    with at(dt.date(2026, 10, 25)):
        forecast_call_submit(t, period=period, actor=w.manager, adjustment=D("500.00"))
    with at(dt.date(2026, 11, 15)):
        services.deal_move(t, deal=deal, stage=stage_named(t, "Closed won"), actor=None)
    with at(dt.date(2026, 11, 20)):
        forecast_call_submit(t, period=period, actor=w.rep1, amount=D("10000.00"))
    return period


def test_week_4_forecasts_use_only_what_was_known_then(world_a, q4):
    with at(dt.date(2027, 2, 15)):
        backtest_period(world_a.tenant, period=q4, points=["week_4"])

    def row(method, kind, subject_id):
        r = ForecastAccuracy.objects.get(
            method=method, subject_kind=kind, subject_id=subject_id, point="week_4"
        )
        return (r.as_of, r.forecast, r.actual, r.accuracy, r.bias)

    day = dt.date(2026, 10, 29)
    assert row("rep_call", "member", world_a.rep1.pk) == (
        day,
        D("9000.00"),
        D("10000.00"),
        D("0.9"),
        D("-0.1"),
    )
    assert row("manager_call", "member", world_a.manager.pk) == (
        day,
        D("9500.00"),
        D("10000.00"),
        D("0.95"),
        D("-0.05"),
    )
    # Open on 29 Oct in Closing: 10,000 x 80 %; no history yet, so the
    # statistical forecast leans on the stage's probability too.
    assert row("weighted", "member", world_a.rep1.pk)[1:] == (
        D("8000.00"),
        D("10000.00"),
        D("0.8"),
        D("-0.2"),
    )
    assert row("statistical", "company", 0)[1:4] == (D("8000.00"), D("10000.00"), D("0.8"))
    assert row("weighted", "team", world_a.team.pk)[1:4] == (D("8000.00"), D("10000.00"), D("0.8"))


def test_the_summary_and_the_command(world_a, q4, capsys):
    with at(dt.date(2027, 2, 15)):
        call_command(
            "forecast_backtest", "--tenant", "alpha", "--quarters", "1", "--point", "week_4"
        )

    summary = {
        s.method: (s.accuracy, s.subjects)
        for s in accuracy_summary(world_a.tenant, point="week_4", subject_kind="member")
    }
    assert summary == {
        "rep_call": (D("0.9000"), 1),
        "manager_call": (D("0.9500"), 1),
        "weighted": (D("0.8000"), 1),
        "statistical": (D("0.8000"), 1),
    }
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("alpha: 1 quarters (FY2026 Q4) in ")
    assert "  week_4    team    Weighted pipeline     accuracy 0.8000  bias -0.2000" in out
