"""The engine's month facts: periods derived from stored months equal periods
computed from scratch; an incremental run computes only the changed months;
months never computed are filled in; a deal that enters a stage twice in a
quarter counts once there."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from kpis import engine, services
from kpis.models import KpiValue, MonthFact, StageFact
from pipeline import services as pipeline_services
from pipeline.models import Deal
from spm.models import FiscalPeriod
from tests.kpis.factories import lost_deal, open_deal, period, recompute, values, won_deal
from tests.pipeline.factories import DealFactory, stage_named

D = dt.date
pytestmark = pytest.mark.django_db
NOW = dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC)


def _at(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC))


def _rows(tenant):  # type: ignore[no-untyped-def]
    return {
        (r.period_id, r.subject_kind, r.subject_id, r.kpi): r.value
        for r in KpiValue.objects.filter(tenant=tenant).only(
            "period_id", "subject_kind", "subject_id", "kpi", "value"
        )
    }


def _data(w):  # type: ignore[no-untyped-def]
    t = w.tenant
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, w.rep2, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    lost_deal(t, w.rep1, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
    open_deal(t, w.rep1, "40000.00", D(2027, 2, 15), D(2027, 4, 10))


@time_machine.travel(NOW, tick=False)
def test_incremental_run_computes_only_the_changed_months(world_a, in_tenant_a):
    """After a full run, a deal won in February changes: only February's facts
    are computed again; February, Q1 and the year are re-derived from stored
    months and equal a full recompute."""
    t, w = world_a.tenant, world_a
    _data(w)
    months = list(FiscalPeriod.objects.filter(tenant=t, fiscal_year=2027).order_by("start"))
    recompute(t, *months)
    assert MonthFact.objects.filter(tenant=t, subject_kind="tenant").count() == 12
    jan_fact = MonthFact.objects.get(tenant=t, month=D(2027, 1, 1), subject_kind="tenant")

    deal = Deal.objects.get(tenant=t, amount=Decimal("20000.00"))
    pipeline_services.deal_update(t, deal=deal, actor=None, amount=Decimal("26000.00"))
    feb, q1, year = period(t, "month", 2027, 2), period(t, "quarter", 2027, 1), period(t, "year")
    services.kpi_recompute(t, period_ids=[feb.pk, q1.pk, year.pk], fact_months=[D(2027, 2, 4)])
    assert engine.last_seconds["fact months"] == 1
    incremental = _rows(t)
    # January's facts were not rewritten
    assert MonthFact.objects.get(pk=jan_fact.pk).bookings == jan_fact.bookings

    recompute(t, *months)
    assert _rows(t) == incremental
    assert values(t, q1, "member", w.rep1.pk)["bookings"] == Decimal("26000.00")
    assert values(t, year, "tenant", 0)["bookings"] == Decimal("56000.00")
    feb_fact = MonthFact.objects.get(tenant=t, month=D(2027, 2, 1), subject_kind="tenant")
    assert (feb_fact.bookings, feb_fact.deals_won) == (Decimal("26000.00"), 1)


@time_machine.travel(NOW, tick=False)
def test_months_never_computed_are_computed_whatever_the_run_is_given(world_a, in_tenant_a):
    """With no facts stored yet, a run told that no month changed still
    computes the months of its periods (their tenant rows are missing)."""
    t, w = world_a.tenant, world_a
    _data(w)
    q1 = period(t, "quarter", 2027, 1)
    services.kpi_recompute(t, period_ids=[q1.pk], fact_months=[])
    assert engine.last_seconds["fact months"] == 3
    assert values(t, q1, "tenant", 0)["bookings"] == Decimal("50000.00")
    assert values(t, q1, "member", w.rep1.pk)["deals_lost"] == Decimal("1")


@time_machine.travel(NOW, tick=False)
def test_facts_of_a_subject_that_lost_its_deals_are_deleted(world_a, in_tenant_a):
    t, w = world_a.tenant, world_a
    _data(w)
    q1 = period(t, "quarter", 2027, 1)
    recompute(t, q1)
    assert MonthFact.objects.filter(
        tenant=t, subject_kind="member", subject_id=w.rep2.pk, month=D(2027, 3, 1)
    ).exists()
    Deal.objects.filter(tenant=t, amount=Decimal("30000.00")).delete()
    recompute(t, q1)
    assert not MonthFact.objects.filter(
        tenant=t, subject_kind="member", subject_id=w.rep2.pk, month=D(2027, 3, 1)
    ).exists()
    # the tenant row of every computed month stays: it marks the month as computed
    assert MonthFact.objects.filter(tenant=t, subject_kind="tenant").count() == 3


def test_a_deal_entering_a_stage_twice_in_a_quarter_counts_once_there(world_a, in_tenant_a):
    """Qualification (next: Needs analysis), FY2027 = calendar 2027:

    - G: Qualification Jan 10 -> Needs analysis Jan 20 -> Qualification Feb 3;
    - H: Qualification Feb 5, stays;
    - K: Qualification Mar 20 -> Needs analysis Apr 3 -> Qualification Apr 10.

    Jan: G entered, reached: 1 / 1. Feb: G (re-entry, not reached since) and
    H: 2 entered, 0 reached. Mar: K, reached (Apr 3): 1 / 1.
    Q1: distinct G, H, K = 3; G's first Q1 entry reached, K reached: 2 / 3.
    Q2: K's Apr 10 entry is its first in Q2, not reached: 1 / 0.
    Year: G, H, K = 3, reached 2 (first entries decide).
    """
    t, w = world_a.tenant, world_a
    qual = stage_named(t, "Qualification")
    key_e, key_c = f"stage_entered:{qual.pk}", f"stage_conversion:{qual.pk}"

    def create(day: dt.date) -> Deal:
        with _at(day):
            return DealFactory(
                tenant=t,
                owner=w.rep1,
                stage=qual,
                created_on=day,
                expected_close_date=D(2027, 9, 30),
            )

    def move(deal: Deal, day: dt.date, stage: str) -> None:
        with _at(day):
            pipeline_services.deal_move(t, deal=deal, stage=stage_named(t, stage), actor=None)

    g = create(D(2027, 1, 10))
    move(g, D(2027, 1, 20), "Needs analysis")
    move(g, D(2027, 2, 3), "Qualification")
    create(D(2027, 2, 5))
    k = create(D(2027, 3, 20))
    move(k, D(2027, 4, 3), "Needs analysis")
    move(k, D(2027, 4, 10), "Qualification")

    jan, feb, mar = (period(t, "month", 2027, n) for n in (1, 2, 3))
    q1, q2, year = period(t, "quarter", 2027, 1), period(t, "quarter", 2027, 2), period(t, "year")
    with _at(D(2027, 4, 30)):
        recompute(t, jan, feb, mar, q1, q2, year)

    def figures(p: FiscalPeriod) -> tuple[Decimal | None, Decimal | None]:
        row = values(t, p, "member", w.rep1.pk)
        return row.get(key_e), row.get(key_c)

    assert figures(jan) == (Decimal("1"), Decimal("1.0000000000"))
    assert figures(feb) == (Decimal("2"), Decimal("0E-10"))
    assert figures(mar) == (Decimal("1"), Decimal("1.0000000000"))
    assert figures(q1) == (Decimal("3"), Decimal("0.6666666667"))
    assert figures(q2) == (Decimal("1"), Decimal("0E-10"))
    assert figures(year) == (Decimal("3"), Decimal("0.6666666667"))
    feb_fact = StageFact.objects.get(
        tenant=t, month=D(2027, 2, 1), subject_kind="member", subject_id=w.rep1.pk, stage_id=qual.pk
    )
    # G's February entry is not its first of the quarter or the year; H's is
    assert (feb_fact.entered_month, feb_fact.entered_quarter, feb_fact.entered_year) == (2, 1, 1)
