"""The engine's run paths: an incremental recompute of a few periods gives the
same rows as recomputing everything; a run writes only what changed; the full
run skips (and clears) periods before any data and after the current fiscal
year + next quarter; the rep dashboard's leaderboard position."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from kpis import engine, selectors, services
from kpis.models import KpiValue
from pipeline import services as pipeline_services
from pipeline.models import Deal
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.kpis.factories import lost_deal, open_deal, period, recompute, value, won_deal

D = dt.date
pytestmark = pytest.mark.django_db
NOW = dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC)


def _rows(tenant, period_ids=None):  # type: ignore[no-untyped-def]
    qs = KpiValue.objects.filter(tenant=tenant)
    if period_ids is not None:
        qs = qs.filter(period_id__in=period_ids)
    return {
        (r.period_id, r.subject_kind, r.subject_id, r.kpi): r.value
        for r in qs.only("period_id", "subject_kind", "subject_id", "kpi", "value")
    }


def _data(w):  # type: ignore[no-untyped-def]
    t = w.tenant
    goal_services.quota_set(
        t,
        actor=w.admin,
        period=period(t, "quarter", 2027, 1),
        membership=w.rep1,
        amount=Decimal("90000.00"),
    )
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, w.rep2, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    won_deal(t, w.other_rep, "12000.00", D(2027, 1, 10), D(2027, 1, 30))
    lost_deal(t, w.rep1, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
    open_deal(t, w.rep1, "40000.00", D(2027, 2, 15), D(2027, 4, 10))
    open_deal(t, w.other_rep, "7000.00", D(2027, 3, 2), D(2027, 5, 20), stage="Needs analysis")


@time_machine.travel(NOW, tick=False)
def test_incremental_recompute_of_the_changed_periods_equals_a_full_recompute(world_a, in_tenant_a):
    t, w = world_a.tenant, world_a
    _data(w)
    live, _skipped = services.periods_live(t)
    recompute(t, *FiscalPeriod.objects.filter(pk__in=live))
    before = _rows(t)

    deal = Deal.objects.get(tenant=t, amount=Decimal("20000.00"))
    pipeline_services.deal_update(t, deal=deal, actor=None, amount=Decimal("26000.00"))
    feb, q1, year = period(t, "month", 2027, 2), period(t, "quarter", 2027, 1), period(t, "year")
    recompute(t, feb, q1, year)
    incremental = _rows(t)

    recompute(t, *FiscalPeriod.objects.filter(pk__in=live))
    assert _rows(t) == incremental
    assert incremental != before
    assert value(t, q1, "member", w.rep1.pk, "bookings") == Decimal("26000.00")
    assert value(t, year, "tenant", 0, "bookings") == Decimal("68000.00")


@time_machine.travel(NOW, tick=False)
def test_months_roll_up_into_quarters_and_years_exactly(world_a, in_tenant_a):
    """Quarter and year figures are derived from month aggregates: the same as
    computing the quarter or the year on its own."""
    t, w = world_a.tenant, world_a
    _data(w)
    q1, q2, year = period(t, "quarter", 2027, 1), period(t, "quarter", 2027, 2), period(t, "year")
    months = list(FiscalPeriod.objects.filter(tenant=t, kind="month", fiscal_year=2027))
    recompute(t, q1, q2, year, *months)
    together = _rows(t)
    for p in (q1, q2, year):
        KpiValue.objects.filter(tenant=t).delete()
        recompute(t, p)
        alone = _rows(t)
        assert alone == {k: v for k, v in together.items() if k[0] == p.pk}
    assert together[(q1.pk, "member", w.rep1.pk, "sales_cycle_length")] == Decimal("30.00")
    assert together[(q2.pk, "tenant", 0, "weighted_pipeline")] is not None


@time_machine.travel(NOW, tick=False)
def test_a_second_run_writes_nothing_and_stale_rows_are_deleted(world_a, in_tenant_a):
    t, w = world_a.tenant, world_a
    _data(w)
    q1 = period(t, "quarter", 2027, 1)
    first = recompute(t, q1)
    assert engine.last_written["upserted"] == first

    assert recompute(t, q1) == first
    assert engine.last_written == {"upserted": 0, "deleted": 0}

    KpiValue.objects.create(
        tenant=t,
        period=q1,
        subject_kind="member",
        subject_id=999999,
        kpi="bookings",
        value=Decimal("1.00"),
        computed_at=NOW,
    )
    deal = Deal.objects.get(tenant=t, amount=Decimal("12000.00"))
    pipeline_services.deal_update(t, deal=deal, actor=None, amount=Decimal("13000.00"))
    recompute(t, q1)
    assert engine.last_written["deleted"] == 1
    # the other rep's figures, their team's, the tenant's: a handful of rows
    assert 0 < engine.last_written["upserted"] < 12
    assert value(t, q1, "member", w.other_rep.pk, "bookings") == Decimal("13000.00")


@time_machine.travel(dt.datetime(2027, 2, 15, 12, 0, tzinfo=dt.UTC), tick=False)
def test_full_run_skips_and_clears_periods_before_any_data_and_after_the_horizon(world_a):
    t, w = world_a.tenant, world_a
    with tenant_context(t):
        _data(w)
        old = period(t, "quarter", 2026, 4)
        far = period(t, "quarter", 2028, 2)
        for p in (old, far):
            KpiValue.objects.create(
                tenant=t,
                period=p,
                subject_kind="tenant",
                subject_id=0,
                kpi="bookings",
                value=Decimal("5.00"),
                computed_at=NOW,
            )
        live, skipped = services.periods_live(t)
        labels = set(FiscalPeriod.objects.filter(pk__in=live).values_list("label", flat=True))
    # FY2027 (today's) and the quarter after it: 17 + the FY2028 year, Q1, Jan-Mar
    assert len(live) == 22
    assert {"FY2027", "FY2027 Q4", "Jan 2027", "FY2028", "FY2028 Q1", "Mar 2028"} <= labels
    assert not {"FY2026", "Dec 2026", "FY2028 Q2", "Apr 2028", "FY2029"} & labels
    assert old.pk in skipped
    assert far.pk in skipped

    run = services.kpi_recompute_full(t)

    assert run.result["periods"] == 22
    with tenant_context(t):
        assert not KpiValue.objects.filter(tenant=t, period__in=[old, far]).exists()
        assert set(KpiValue.objects.filter(tenant=t).values_list("period_id", flat=True)) == set(
            live
        )
        assert value(t, period(t, "quarter", 2027, 1), "tenant", 0, "bookings") == Decimal(
            "62000.00"
        )


@time_machine.travel(NOW, tick=False)
def test_leaderboard_position_matches_the_board(world_a, in_tenant_a):
    t, w = world_a.tenant, world_a
    _data(w)
    q1 = period(t, "quarter", 2027, 1)
    for rep in (w.rep2, w.other_rep):
        goal_services.quota_set(t, actor=w.admin, period=q1, membership=rep, amount=Decimal(24000))
    recompute(t, q1)
    for kpi in ("attainment", "bookings", "sales_cycle_length"):
        for member in (w.rep1, w.rep2, w.other_rep, w.manager):
            board = selectors.leaderboard(t, period=q1, kpi=kpi, viewer=member)
            expected = next((r for r in board if r.member.pk == member.pk), None)
            row, size = selectors.leaderboard_position(t, period=q1, kpi=kpi, member=member)
            assert size == len([r for r in board if r.value is not None])
            if expected is None:
                assert row is None
            else:
                assert row is not None
                assert (row.rank, row.value, row.text) == (
                    expected.rank,
                    expected.value,
                    expected.text,
                )
