"""The engine against docs/formulas.md section 3, team roll-ups and the tenant level."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from kpis.definitions import percent
from pipeline import services as pipeline_services
from pipeline.models import Deal
from tests.kpis.factories import lost_deal, open_deal, period, recompute, value, values, won_deal

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def formulas_q1(world_a, in_tenant_a):
    """docs/formulas.md section 3: one rep, Q1 2027, quota 90,000.00, deals D1..D4."""
    t, rep = world_a.tenant, world_a.rep1
    q1 = period(t, "quarter", 2027, 1)
    goal_services.quota_set(
        t, actor=world_a.admin, period=q1, membership=rep, amount=Decimal("90000.00")
    )
    won_deal(t, rep, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, rep, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    lost_deal(t, rep, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
    open_deal(t, rep, "40000.00", D(2027, 2, 15), D(2027, 4, 10))
    return world_a


@time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False)
def test_formulas_section_3_worked_example_through_the_engine(formulas_q1):
    t, rep = formulas_q1.tenant, formulas_q1.rep1
    q1, q2 = period(t, "quarter", 2027, 1), period(t, "quarter", 2027, 2)

    recompute(t, q1, q2)

    got = values(t, q1, "member", rep.pk)
    assert got["bookings"] == Decimal("50000.00")
    assert got["quota"] == Decimal("90000.00")
    assert got["attainment"] == Decimal("0.5555555556")
    assert percent(got["attainment"]) == Decimal("55.56")
    assert percent(got["win_rate"]) == Decimal("66.67")
    assert got["average_deal_size"] == Decimal("25000.00")
    assert got["sales_cycle_length"] == Decimal("40.00")
    assert got["deals_won"] == 2
    assert got["deals_lost"] == 1
    assert value(t, q2, "member", rep.pk, "weighted_pipeline") == Decimal("24000.00")
    assert value(t, q2, "member", rep.pk, "open_pipeline") == Decimal("40000.00")


@time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False)
def test_attainment_has_no_value_without_a_quota(formulas_q1):
    t, rep2 = formulas_q1.tenant, formulas_q1.rep2
    q1 = period(t, "quarter", 2027, 1)

    recompute(t, q1)

    got = values(t, q1, "member", rep2.pk)
    assert got["bookings"] == Decimal("0.00")
    assert got["quota"] is None
    assert got["attainment"] is None
    assert got["win_rate"] is None


@time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False)
def test_months_and_year_roll_up_and_quarter_quota_is_prorated(world_a, in_tenant_a):
    t, w = world_a.tenant, world_a
    q1, feb, year = period(t, "quarter"), period(t, "month", 2027, 2), period(t, "year")
    # rep2 starts Feb 10: 90,000.00 x 50 / 90 = 50,000.00 (docs/formulas.md section 1)
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.rep2, amount=Decimal("90000.00")
    )
    won_deal(t, w.rep2, "12500.00", D(2027, 2, 10), D(2027, 2, 20))

    recompute(t, q1, feb, year)

    assert value(t, q1, "member", w.rep2.pk, "quota") == Decimal("50000.00")
    assert value(t, q1, "member", w.rep2.pk, "attainment") == Decimal("0.2500000000")
    # the year has no quota of its own: its quarters add up
    assert value(t, year, "member", w.rep2.pk, "quota") == Decimal("50000.00")
    assert value(t, feb, "member", w.rep2.pk, "bookings") == Decimal("12500.00")
    assert value(t, feb, "member", w.rep2.pk, "quota") is None


@time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False)
def test_team_counts_a_split_deal_once_and_rolls_up_the_tree(world_a, in_tenant_a):
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter")
    # 60,000.00 split 70/30 between two reps of West (docs/formulas.md section 2)
    won_deal(
        t,
        w.rep1,
        "60000.00",
        D(2027, 1, 1),
        D(2027, 1, 31),
        splits=[(w.rep1, Decimal("70")), (w.rep2, Decimal("30"))],
    )
    won_deal(t, w.other_rep, "10000.00", D(2027, 1, 1), D(2027, 1, 11))
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.rep1, amount=Decimal("100000.00")
    )
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.other_rep, amount=Decimal("50000.00")
    )
    goal_services.quota_set(
        t, actor=w.admin, period=q1, team=w.other_team, amount=Decimal("40000.00")
    )

    recompute(t, q1)

    assert value(t, q1, "member", w.rep1.pk, "bookings") == Decimal("42000.00")
    assert value(t, q1, "member", w.rep2.pk, "bookings") == Decimal("18000.00")
    west = values(t, q1, "team", w.team.pk)
    assert west["bookings"] == Decimal("60000.00")
    assert west["deals_won"] == 1
    assert west["quota"] == Decimal("100000.00")  # bottom-up: the reps' quotas
    assert west["attainment"] == Decimal("0.6000000000")
    east = values(t, q1, "team", w.other_team.pk)
    assert east["quota"] == Decimal("40000.00")  # top-down team quota wins
    assert east["attainment"] == Decimal("0.2500000000")
    root = values(t, q1, "team", w.root_team.pk)
    assert root["bookings"] == Decimal("70000.00")
    assert root["deals_won"] == 2
    assert root["quota"] == Decimal("150000.00")
    assert root["sales_cycle_length"] == Decimal("20.00")
    company = values(t, q1, "tenant", 0)
    assert company["bookings"] == Decimal("70000.00")
    assert company["deals_won"] == 2
    assert company["quota"] == Decimal("150000.00")


@time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False)
def test_recompute_is_idempotent_and_drops_values_that_no_longer_apply(formulas_q1):
    t, rep = formulas_q1.tenant, formulas_q1.rep1
    q1 = period(t, "quarter")
    first = recompute(t, q1)
    assert recompute(t, q1) == first

    deal = Deal.objects.get(tenant=t, amount=Decimal("30000.00"))
    pipeline_services.deal_update(t, deal=deal, actor=None, owner=formulas_q1.other_rep)
    recompute(t, q1)

    assert value(t, q1, "member", rep.pk, "bookings") == Decimal("20000.00")
    assert value(t, q1, "member", formulas_q1.other_rep.pk, "bookings") == Decimal("30000.00")
    assert value(t, q1, "tenant", 0, "bookings") == Decimal("50000.00")
