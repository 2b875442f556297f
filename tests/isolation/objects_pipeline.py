"""Objects of the pipeline pillar for the isolation tests (see test_discovery.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pipeline import services
from pipeline.forecast.backtest import backtest_period
from pipeline.forecast.services import forecast_call_submit
from pipeline.forecast.stats import stat_forecast_compute
from pipeline.importing import import_batch_create
from pipeline.models import DealOdds, ForecastAccuracy, Pipeline, Stage, StatForecast
from spm.models import FiscalPeriod


def make_objects(world: Any) -> list[Any]:
    tenant = world.tenant
    pipeline = Pipeline.objects.get(tenant=tenant, name=services.DEFAULT_PIPELINE_NAME)
    stage = Stage.objects.get(tenant=tenant, pipeline=pipeline, name="Qualification")
    account = services.account_create(
        tenant, actor=None, name="Isolation Account", owner=world.rep1, external_id="ISO-ACC"
    )
    deal = services.deal_create(
        tenant,
        actor=None,
        name="Isolation deal",
        owner=world.rep1,
        amount=Decimal("1000.00"),
        stage=stage,
        expected_close_date=dt.date(2027, 3, 31),
        account=account,
        external_id="ISO-DEAL",
    )
    lead = services.lead_create(
        tenant,
        actor=None,
        name="Isolation lead",
        owner=world.rep1,
        awareness_on=dt.date(2027, 1, 5),
        external_id="ISO-LEAD",
    )
    activity = services.activity_create(
        tenant,
        actor=None,
        member=world.rep1,
        kind="call",
        occurred_on=dt.date(2027, 2, 1),
        deal=deal,
        external_id="ISO-ACT",
    )
    batch = import_batch_create(
        tenant,
        kind="deals",
        filename="iso.csv",
        content="Opportunity ID,Opportunity Name\nX,Y\n",
        actor=world.admin,
    )
    rate = services.exchange_rate_create(
        tenant,
        actor=None,
        currency="EUR",
        period=FiscalPeriod.objects.filter(tenant=tenant, kind="month").order_by("start").first(),
        rate=Decimal("1.085000"),
    )
    # Another team's deal on which rep1 holds 40 % of the credit (read-only for rep1).
    credited = services.deal_create(
        tenant,
        actor=None,
        name="Credited deal",
        owner=world.other_rep,
        amount=Decimal("2000.00"),
        stage=stage,
        expected_close_date=dt.date(2027, 3, 31),
        splits=[(world.other_rep, Decimal("60")), (world.rep1, Decimal("40"))],
    )
    quarter = FiscalPeriod.objects.get(tenant=tenant, kind="quarter", start=dt.date(2027, 1, 1))
    call = forecast_call_submit(tenant, period=quarter, actor=world.rep1, note="Isolation call")
    stat_forecast_compute(tenant, period=quarter, day=dt.date(2027, 2, 15), simulations=50)
    past = FiscalPeriod.objects.get(tenant=tenant, kind="quarter", start=dt.date(2026, 10, 1))
    backtest_period(tenant, period=past, points=["week_4"])
    forecasts = [
        StatForecast.objects.get(tenant=tenant, period=quarter, subject_kind="member",
                                 subject_id=world.rep1.pk),
        DealOdds.objects.get(tenant=tenant, period=quarter, deal=deal),
        ForecastAccuracy.objects.filter(tenant=tenant, period=past).first(),
    ]  # fmt: skip
    return [pipeline, stage, account, deal, lead, activity, batch, rate, credited, call, *forecasts]
