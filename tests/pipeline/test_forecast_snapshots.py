"""Weekly snapshots, the trend and the week-over-week waterfall of closed +
commit: each cause worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from pipeline import services
from pipeline.forecast.services import deal_category_set
from pipeline.forecast.snapshots import (
    forecast_snapshot_take,
    forecast_trend,
    forecast_waterfall,
)
from spm.models import FiscalPeriod
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db
D = Decimal


def at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC), tick=False)


def test_waterfall_names_what_moved_the_forecast_since_last_week(world_a, in_tenant_a):
    t, rep = world_a.tenant, world_a.rep1
    q1 = FiscalPeriod.objects.get(tenant=t, kind="quarter", start=dt.date(2027, 1, 1))
    created = dt.date(2027, 1, 10)

    def deal(amount, stage, **kw):
        return DealFactory(
            tenant=t, owner=rep, amount=D(amount), stage=stage, created_on=created, **kw
        )

    with at(dt.date(2027, 2, 8)):
        a = deal("10000.00", "Closing")
        b = deal("20000.00", "Proposal and negotiation")
        c = deal("5000.00", "Closing")
        d = deal("8000.00", "Proposal and negotiation")
        e = deal("3000.00", "Closing")
        forecast_snapshot_take(t, period=q1, day=dt.date(2027, 2, 8))
    with at(dt.date(2027, 2, 15)):
        deal("4000.00", "Closing")
        services.deal_update(t, deal=c, actor=None, expected_close_date=dt.date(2027, 4, 15))
        services.deal_move(t, deal=d, stage=stage_named(t, "Closed won"), actor=None)
        services.deal_move(t, deal=e, stage=stage_named(t, "Closed lost"), actor=None)
        deal_category_set(t, deal=b, category="commit", actor=rep)
        services.deal_update(t, deal=a, actor=None, amount=D("12000.00"))
        forecast_snapshot_take(t, period=q1, day=dt.date(2027, 2, 15))

    waterfall = forecast_waterfall(t, period=q1, owner_ids=[rep.pk])
    trend = forecast_trend(t, period=q1, owner_ids=[rep.pk])

    assert (waterfall.previous_day, waterfall.day) == (dt.date(2027, 2, 8), dt.date(2027, 2, 15))
    assert waterfall.start == D("18000.00")
    assert waterfall.steps == [
        ("New deals", D("4000.00")),
        ("Pushed out", D("-5000.00")),
        ("Closed", D("5000.00")),
        ("Amount changes", D("2000.00")),
        ("Category changes", D("20000.00")),
    ]
    assert waterfall.end == D("44000.00")
    assert [(p.day, p.call_default) for p in trend] == [
        (dt.date(2027, 2, 8), D("18000.00")),
        (dt.date(2027, 2, 15), D("44000.00")),
    ]
    assert trend[1].amounts == {
        "closed": D("8000.00"),
        "commit": D("36000.00"),
        "lost": D("3000.00"),
    }
    # Weighted: won deals whole, open ones at their stage's probability: A 12,000 and
    # the new 4,000 in Closing (80 %), B 20,000 in Proposal (60 %).
    assert trend[1].weighted == D("8000.00") + D("9600.00") + D("3200.00") + D("12000.00")
