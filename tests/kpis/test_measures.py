"""The KPIs the worked example does not cover, through the engine: activity
counts by type, lead conversion through the AIDA funnel, retention, stage
conversion, pipeline coverage and sales velocity, with team roll-ups (a split
deal counted once per team) and the tenant level. Every figure is worked out
by hand in the test's docstring."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from pipeline import services as pipeline_services
from pipeline.models import ActivityKind
from tests.kpis.factories import lost_deal, open_deal, period, recompute, value, values, won_deal
from tests.pipeline.factories import (
    AccountFactory,
    ActivityFactory,
    DealFactory,
    LeadFactory,
    stage_named,
)

D = dt.date
pytestmark = pytest.mark.django_db
END_OF_Q1 = dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC)


def _at(day: dt.date):
    """Freeze the clock at noon UTC of ``day`` (stage history is stamped with now)."""
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC))


@time_machine.travel(END_OF_Q1, tick=False)
def test_activity_counts_by_type_per_member_team_and_tenant(world_a, in_tenant_a):
    """Q1 2027. rep1: calls Jan 4, Feb 8, Mar 30; emails Jan 12, Feb 2; a
    meeting Mar 3; a demo Apr 1 (Q2, not counted). rep2: a demo Feb 20.
    other_rep (East): a call Jan 20.

    rep1 Q1: 3 calls + 2 emails + 1 meeting = 6, demos 0. rep1 February: 1
    call + 1 email = 2. West: 6 + rep2's demo = 7, demos 1. The root team
    and the tenant: 7 + other_rep's call = 8, calls 4."""
    t, w = world_a.tenant, world_a
    account = AccountFactory(tenant=t, name="Initech")
    for member, kind, day in [
        (w.rep1, ActivityKind.CALL, D(2027, 1, 4)),
        (w.rep1, ActivityKind.CALL, D(2027, 2, 8)),
        (w.rep1, ActivityKind.CALL, D(2027, 3, 30)),
        (w.rep1, ActivityKind.EMAIL, D(2027, 1, 12)),
        (w.rep1, ActivityKind.EMAIL, D(2027, 2, 2)),
        (w.rep1, ActivityKind.MEETING, D(2027, 3, 3)),
        (w.rep1, ActivityKind.DEMO, D(2027, 4, 1)),
        (w.rep2, ActivityKind.DEMO, D(2027, 2, 20)),
        (w.other_rep, ActivityKind.CALL, D(2027, 1, 20)),
    ]:
        ActivityFactory(tenant=t, member=member, kind=kind, occurred_on=day, account=account)
    q1, feb = period(t, "quarter"), period(t, "month", 2027, 2)

    recompute(t, q1, feb)

    keys = [
        "activities",
        "activities_call",
        "activities_email",
        "activities_meeting",
        "activities_demo",
    ]

    def counts(p, kind, sid):
        got = values(t, p, kind, sid)
        return [got[k] for k in keys]

    assert counts(q1, "member", w.rep1.pk) == [6, 3, 2, 1, 0]
    assert counts(feb, "member", w.rep1.pk) == [2, 1, 1, 0, 0]
    assert counts(q1, "member", w.rep2.pk) == [1, 0, 0, 0, 1]
    assert counts(q1, "team", w.team.pk) == [7, 3, 2, 1, 1]
    assert counts(q1, "team", w.other_team.pk) == [1, 1, 0, 0, 0]
    assert counts(q1, "team", w.root_team.pk) == [8, 4, 2, 1, 1]
    assert counts(q1, "tenant", 0) == [8, 4, 2, 1, 1]
    assert counts(q1, "member", w.manager.pk) == [0, 0, 0, 0, 0]


@time_machine.travel(END_OF_Q1, tick=False)
def test_lead_conversion_through_the_aida_funnel(world_a, in_tenant_a):
    """The Q1 2027 cohort is the leads whose awareness date is in Q1.

    rep1 owns L1 (awareness Jan 5), L2 (interest), L3 (decision), L4 and L5
    (action), and L6, aware Dec 20 2026 and converted Jan 15: not in the
    cohort. L7 (Jan 7, awareness) has no owner: only the company counts it.

    rep1: awareness 5, interest 4 (L2..L5), decision 3 (L3..L5), action 2;
    conversion 2 / 5 = 0.4. The tenant: awareness 6, action 2; 2 / 6 =
    0.3333333333. rep2 has no leads: no conversion (nothing to divide)."""
    t, w = world_a.tenant, world_a
    LeadFactory(tenant=t, owner=w.rep1, awareness_on=D(2027, 1, 5))
    LeadFactory(tenant=t, owner=w.rep1, awareness_on=D(2027, 1, 10), interest_on=D(2027, 1, 20))
    LeadFactory(
        tenant=t,
        owner=w.rep1,
        awareness_on=D(2027, 2, 1),
        interest_on=D(2027, 2, 5),
        decision_on=D(2027, 2, 20),
    )
    for aware, action in [(D(2027, 2, 10), D(2027, 3, 1)), (D(2027, 3, 3), D(2027, 3, 20))]:
        LeadFactory(
            tenant=t,
            owner=w.rep1,
            awareness_on=aware,
            interest_on=aware,
            decision_on=action,
            action_on=action,
        )
    LeadFactory(
        tenant=t,
        owner=w.rep1,
        awareness_on=D(2026, 12, 20),
        interest_on=D(2027, 1, 2),
        decision_on=D(2027, 1, 10),
        action_on=D(2027, 1, 15),
    )
    LeadFactory(tenant=t, owner=None, awareness_on=D(2027, 1, 7))
    q1 = period(t, "quarter")

    recompute(t, q1)

    funnel = ["leads_awareness", "leads_interest", "leads_decision", "leads_action"]
    rep1 = values(t, q1, "member", w.rep1.pk)
    assert [rep1[k] for k in funnel] == [5, 4, 3, 2]
    assert rep1["lead_conversion"] == Decimal("0.4000000000")
    west = values(t, q1, "team", w.team.pk)
    assert [west[k] for k in funnel] == [5, 4, 3, 2]
    assert west["lead_conversion"] == Decimal("0.4000000000")
    company = values(t, q1, "tenant", 0)
    assert [company[k] for k in funnel] == [6, 4, 3, 2]
    assert company["lead_conversion"] == Decimal("0.3333333333")
    assert value(t, q1, "member", w.rep2.pk, "lead_conversion") is None
    assert value(t, q1, "member", w.rep2.pk, "leads_awareness") == 0


@time_machine.travel(END_OF_Q1, tick=False)
def test_retention_rate_counts_customers_at_start_still_customers_at_end(world_a, in_tenant_a):
    """Q1 2027 = Jan 1 .. Mar 31. A customer on day D: customer_since <= D
    and not churned on or before D.

    rep1's accounts: A1 (since 2026-06-01) kept; A2 (2026-03-01, churned
    Feb 15) lost; A3 (2026-12-31, churns Apr 10, after the end) kept; A4
    (since Feb 1: not a customer at the start) ignored; A5 (churned
    2026-11-30, before the start) ignored; A6 (since Jan 1, the first day)
    kept; A7 (churned Mar 31, the last day) lost. At the start 5 (A1 A2 A3 A6
    A7), kept 3: 3 / 5 = 0.6. A8 has no owner (since 2026-01-01, kept): the
    company counts it, 4 / 6 = 0.6666666667. rep2 has no customers: no
    value."""
    t, w = world_a.tenant, world_a
    for since, churned in [
        (D(2026, 6, 1), None),
        (D(2026, 3, 1), D(2027, 2, 15)),
        (D(2026, 12, 31), D(2027, 4, 10)),
        (D(2027, 2, 1), None),
        (D(2025, 1, 1), D(2026, 11, 30)),
        (D(2027, 1, 1), None),
        (D(2026, 1, 1), D(2027, 3, 31)),
    ]:
        AccountFactory(tenant=t, owner=w.rep1, customer_since=since, churned_on=churned)
    AccountFactory(tenant=t, owner=None, customer_since=D(2026, 1, 1))
    q1 = period(t, "quarter")

    recompute(t, q1)

    assert value(t, q1, "member", w.rep1.pk, "retention_rate") == Decimal("0.6000000000")
    assert value(t, q1, "team", w.team.pk, "retention_rate") == Decimal("0.6000000000")
    assert value(t, q1, "team", w.root_team.pk, "retention_rate") == Decimal("0.6000000000")
    assert value(t, q1, "tenant", 0, "retention_rate") == Decimal("0.6666666667")
    assert value(t, q1, "member", w.rep2.pk, "retention_rate") is None
    assert value(t, q1, "team", w.other_team.pk, "retention_rate") is None


def test_stage_conversion_from_each_stage_to_the_next_or_beyond(world_a, in_tenant_a):
    """Stages (position): Lead generation 1, Qualification 2, Needs analysis
    3, Proposal 4, Closing 5, Closed won 6, Closed lost 7. Q1 2027:

    - A: Qualification Jan 10 -> Needs analysis Feb 1 (reached); split 50/50
      rep1 / rep2;
    - B: Qualification Jan 15 -> Closed lost Feb 10 (a lost stage: not reached);
    - C: Qualification Jan 20 -> Closed won Mar 1 (beyond the next: reached);
    - D: Qualification Feb 5, still there (not reached);
    - E: Lead generation Jan 3 -> Qualification Jan 25 -> Proposal Mar 5
      (skips Needs analysis: reached);
    - F: Qualification Apr 2 (Q2: not in Q1).

    Qualification: entered by A B C D E = 5, reached 3 (A C E): 0.6.
    Needs analysis: A, not moved on: 0. Lead generation: E, reached 1: 1.
    rep2 has A only: 1 entered, 1 reached. West counts A once: 5 entered.
    """
    t, w = world_a.tenant, world_a
    qual = stage_named(t, "Qualification")
    needs = stage_named(t, "Needs analysis")

    def create(day, stage="Qualification", **kw):
        with _at(day):
            return DealFactory(
                tenant=t,
                owner=w.rep1,
                stage=stage,
                created_on=day,
                expected_close_date=D(2027, 6, 30),
                **kw,
            )

    def move(deal, day, stage, **kw):
        with _at(day):
            pipeline_services.deal_move(t, deal=deal, stage=stage_named(t, stage), actor=None, **kw)

    a = create(D(2027, 1, 10), splits=[(w.rep1, Decimal("50")), (w.rep2, Decimal("50"))])
    b = create(D(2027, 1, 15))
    c = create(D(2027, 1, 20))
    create(D(2027, 2, 5))
    e = create(D(2027, 1, 3), stage="Lead generation")
    create(D(2027, 4, 2))
    move(a, D(2027, 2, 1), "Needs analysis")
    move(b, D(2027, 2, 10), "Closed lost", close_date=D(2027, 2, 10), lost_reason="Price")
    move(c, D(2027, 3, 1), "Closed won", close_date=D(2027, 3, 1))
    move(e, D(2027, 1, 25), "Qualification")
    move(e, D(2027, 3, 5), "Proposal and negotiation")
    lead_gen = stage_named(t, "Lead generation")
    q1 = period(t, "quarter")

    with time_machine.travel(END_OF_Q1, tick=False):
        recompute(t, q1)

    rep1 = values(t, q1, "member", w.rep1.pk)
    assert rep1[f"stage_entered:{qual.pk}"] == 5
    assert rep1[f"stage_conversion:{qual.pk}"] == Decimal("0.6000000000")
    assert rep1[f"stage_entered:{needs.pk}"] == 1
    assert rep1[f"stage_conversion:{needs.pk}"] == Decimal("0E-10")
    assert rep1[f"stage_entered:{lead_gen.pk}"] == 1
    assert rep1[f"stage_conversion:{lead_gen.pk}"] == Decimal("1.0000000000")
    rep2 = values(t, q1, "member", w.rep2.pk)
    assert rep2[f"stage_entered:{qual.pk}"] == 1
    assert rep2[f"stage_conversion:{qual.pk}"] == Decimal("1.0000000000")
    west = values(t, q1, "team", w.team.pk)
    assert west[f"stage_entered:{qual.pk}"] == 5
    assert west[f"stage_conversion:{qual.pk}"] == Decimal("0.6000000000")
    assert value(t, q1, "tenant", 0, f"stage_entered:{qual.pk}") == 5


@time_machine.travel(END_OF_Q1, tick=False)
def test_pipeline_coverage_and_sales_velocity(world_a, in_tenant_a):
    """Q1 2027, as of Mar 31. rep1, quota 90,000.00: won 20,000.00 (Jan 5 ->
    Feb 4, 30 days) and 30,000.00 (Jan 10 -> Mar 1, 50 days), lost
    25,000.00, open 40,000.00 (Proposal, expected Mar 25) and an open
    10,000.00 (Qualification, expected Mar 28) split 50/50 with rep2.
    other_rep (East), quota 10,000.00: won 12,000.00 (Feb 1 -> Mar 3, 30 days).

    rep1: open pipeline 40,000 + 5,000 = 45,000; coverage 45,000 / (90,000 -
    50,000) = 1.125; open deals 2, win rate 2/3, average 25,000, cycle 40:
    velocity 2 x 2/3 x 25,000 / 40 = 833.33 per day.
    West counts the split deal once: open 50,000, open deals 2; coverage
    50,000 / 40,000 = 1.25 (rep2 has no quota); velocity 833.33.
    other_rep is past quota: no coverage; no open deal: velocity 0.00.
    Company: bookings 62,000, quota 100,000, won 3, lost 1, cycle (30 + 50 +
    30) / 3 = 36.67; coverage 50,000 / 38,000 = 1.3158 (4 places); velocity
    2 x 62,000 / 4 / (110 / 3) = 845.45."""
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter")
    for member, amount in [(w.rep1, "90000.00"), (w.other_rep, "10000.00")]:
        goal_services.quota_set(
            t, actor=w.admin, period=q1, membership=member, amount=Decimal(amount)
        )
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, w.rep1, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    lost_deal(t, w.rep1, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
    open_deal(t, w.rep1, "40000.00", D(2027, 2, 15), D(2027, 3, 25))
    open_deal(
        t,
        w.rep1,
        "10000.00",
        D(2027, 3, 1),
        D(2027, 3, 28),
        stage="Qualification",
        splits=[(w.rep1, Decimal("50")), (w.rep2, Decimal("50"))],
    )
    won_deal(t, w.other_rep, "12000.00", D(2027, 2, 1), D(2027, 3, 3))

    recompute(t, q1)

    rep1 = values(t, q1, "member", w.rep1.pk)
    assert rep1["open_pipeline"] == Decimal("45000.00")
    assert rep1["open_deals"] == 2
    assert rep1["weighted_pipeline"] == Decimal("25000.00")  # 24,000 + 5,000 x 20%
    assert rep1["pipeline_coverage"] == Decimal("1.1250")
    assert rep1["sales_velocity"] == Decimal("833.33")
    west = values(t, q1, "team", w.team.pk)
    assert west["open_pipeline"] == Decimal("50000.00")
    assert west["open_deals"] == 2
    assert west["pipeline_coverage"] == Decimal("1.2500")
    assert west["sales_velocity"] == Decimal("833.33")
    east = values(t, q1, "member", w.other_rep.pk)
    assert east["pipeline_coverage"] is None
    assert east["sales_velocity"] == Decimal("0.00")
    company = values(t, q1, "tenant", 0)
    assert company["bookings"] == Decimal("62000.00")
    assert company["quota"] == Decimal("100000.00")
    assert company["sales_cycle_length"] == Decimal("36.67")
    assert company["pipeline_coverage"] == Decimal("1.3158")
    assert company["sales_velocity"] == Decimal("845.45")
    assert values(t, q1, "team", w.root_team.pk)["sales_velocity"] == Decimal("845.45")


@time_machine.travel(END_OF_Q1, tick=False)
def test_velocity_and_coverage_are_empty_without_closed_deals_or_quota(world_a, in_tenant_a):
    """rep2 has one open deal and nothing closed and no quota: no win rate,
    so no velocity; no quota, so nothing to cover."""
    t, w = world_a.tenant, world_a
    open_deal(t, w.rep2, "10000.00", D(2027, 3, 1), D(2027, 3, 28))
    q1 = period(t, "quarter")

    recompute(t, q1)

    rep2 = values(t, q1, "member", w.rep2.pk)
    assert rep2["open_pipeline"] == Decimal("10000.00")
    assert rep2["sales_velocity"] is None
    assert rep2["pipeline_coverage"] is None
