from __future__ import annotations

import datetime as dt
import random

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.models import Count, F, Sum
from django.test.utils import CaptureQueriesContext

from pipeline import demo
from pipeline.models import (
    Account,
    Activity,
    Deal,
    DealSplit,
    ForecastAccuracy,
    ForecastCall,
    ForecastSnapshot,
    Lead,
    StageChange,
    StatForecast,
)
from spm.demo import ACME, _UserMaker, seed_tenant
from spm.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
TODAY = dt.date(2027, 2, 15)
QUERY_BOUND = 60
# The forecasting runs the seed ends with (this quarter's weekly snapshots, the
# statistical forecast, the backtest of six quarters at four points) take a fixed
# number of statements per week, quarter and point, whatever the rows.
FORECAST_RUN_QUERIES = 300


def test_demo_seed_for_a_full_tenant_is_set_based_and_consistent():
    tenant, people = seed_tenant(
        ACME, rng=random.Random(7), today=TODAY, users=_UserMaker(make_password("x"))
    )
    with tenant_context(tenant), CaptureQueriesContext(connection) as queries:
        demo.seed(tenant, rng=random.Random(7), today=TODAY, people=people)
    print(f"pipeline demo seed for {len(people.reps)} reps: {len(queries)} queries")  # noqa: T201
    # Bulk writes: the statements do not grow with the thousands of rows seeded.
    assert len(queries) < QUERY_BOUND + FORECAST_RUN_QUERIES
    with tenant_context(tenant):
        deals = Deal.objects.count()
        assert deals > 1000
        # Every deal's credits add up to its amount, and every deal has a history.
        mismatched = (
            Deal.objects.annotate(credited=Sum("splits__credited_amount"))
            .exclude(credited=F("base_amount"))
            .count()
        )
        assert mismatched == 0
        assert Deal.objects.annotate(n=Count("stage_changes")).filter(n=0).count() == 0
        assert Deal.objects.filter(status="open", close_date__isnull=False).count() == 0
        assert Deal.objects.exclude(status="open").filter(close_date__gt=TODAY).count() == 0
        assert StageChange.objects.filter(changed_at__date__gt=TODAY).count() == 0
        assert DealSplit.objects.values("deal").annotate(n=Count("id")).filter(n=2).count() > 50
        assert Lead.objects.filter(stage="action", converted_deal__isnull=False).count() > 100
        assert Activity.objects.count() > deals
        assert Account.objects.filter(churned_on__isnull=False).count() > 0
        # Win rates differ by rep.
        rates = []
        for rep in people.reps[:6]:
            won = Deal.objects.filter(owner=rep, status="won").count()
            closed = Deal.objects.filter(owner=rep).exclude(status="open").count()
            rates.append(round(won / closed, 2) if closed else 0)
        assert len(set(rates)) > 3
        # Forecasting: calls over seven quarters, this quarter's weekly snapshots,
        # the statistical forecast and the backtest of six past quarters.
        assert ForecastCall.objects.values("period").distinct().count() == 7
        assert list(
            ForecastSnapshot.objects.order_by("day").values_list("day", flat=True).distinct()
        ) == [dt.date(2027, 1, 1) + dt.timedelta(weeks=n) for n in range(7)]
        assert StatForecast.objects.filter(subject_kind="company").count() == 1
        assert ForecastAccuracy.objects.values("period").distinct().count() == 6
