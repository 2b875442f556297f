"""The pre-filled 1:1 agenda: exactly what changed for the rep since the last 1:1."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine

from coaching import services
from coaching.agenda import elapsed_share, kpi_movements
from coaching.links import agenda_link
from coaching.models import ActionStatus, CoachingSettings
from goals import services as goal_services
from pipeline import services as pipeline_services
from spm.formatting import Formats
from tests.coaching.factories import at, kpis_set, q1, series_with_held_meeting
from tests.pipeline.factories import DealFactory, stage_named

TODAY = dt.date(2027, 2, 15)


def _history(world):
    """Ray One's quarter: a win-rate drop since the 1:1 of January 15, one
    stalled deal (and one that moved), one goal behind pace (and one on pace),
    one overdue action (and one done); his attainment is on pace."""
    t, manager, rep = world.tenant, world.manager, world.rep1
    quarter = q1(t)
    kpis_set(
        t,
        rep,
        quarter,
        bookings="45000.00",
        attainment="0.5",
        win_rate="0.5",
        sales_cycle_length="30",
        activities="40",
    )
    with time_machine.travel(at(dt.date(2027, 1, 2)), tick=False):
        stalled = DealFactory(
            tenant=t,
            owner=rep,
            name="Globex renewal",
            stage="Qualification",
            expected_close_date=dt.date(2027, 3, 31),
        )
        moving = DealFactory(
            tenant=t,
            owner=rep,
            name="Initech upsell",
            stage="Qualification",
            expected_close_date=dt.date(2027, 3, 31),
        )
        DealFactory(
            tenant=t,
            owner=world.rep2,
            name="Rita's stalled deal",
            stage="Qualification",
            expected_close_date=dt.date(2027, 3, 31),
        )
        company = goal_services.goal_create(
            t,
            actor=world.admin,
            level="company",
            title="Grow new business by a fifth",
            metric="bookings",
            target_value=Decimal("1200000"),
            rationale="New logos fund the expansion plan",
            start_date=dt.date(2027, 1, 1),
            due_date=dt.date(2027, 12, 31),
        )
        behind = goal_services.goal_create(
            t,
            actor=manager,
            level="member",
            owner_membership=rep,
            title="Book ten new logos",
            metric="manual",
            unit="logos",
            target_value=Decimal("10"),
            rationale="New logos grow the base",
            parent=company,
            start_date=dt.date(2027, 1, 1),
            due_date=dt.date(2027, 3, 31),
        )
        on_pace = goal_services.goal_create(
            t,
            actor=manager,
            level="member",
            owner_membership=rep,
            title="Run four webinars",
            metric="manual",
            unit="webinars",
            target_value=Decimal("4"),
            rationale="Webinars feed the funnel",
            parent=company,
            start_date=dt.date(2027, 1, 1),
            due_date=dt.date(2027, 3, 31),
        )
        company, behind, on_pace = (
            goal_services.goal_approve(t, actor=world.admin, goal=goal)
            for goal in (company, behind, on_pace)
        )
    _, upcoming = series_with_held_meeting(world, held_on=dt.date(2027, 1, 15))
    with time_machine.travel(at(dt.date(2027, 2, 10)), tick=False):
        pipeline_services.deal_move(
            t, actor=rep, deal=moving, stage=stage_named(t, "Needs analysis")
        )
        goal_services.checkin_add(t, actor=rep, goal=behind, value=Decimal("2"))
        goal_services.checkin_add(t, actor=rep, goal=on_pace, value=Decimal("3"))
        overdue = services.action_create(
            t,
            actor=manager,
            member=rep,
            title="Send the Globex proposal",
            due_on=dt.date(2027, 2, 12),
            deal=stalled,
        )
        done = services.action_create(
            t, actor=manager, member=rep, title="Book the demo", due_on=dt.date(2027, 2, 1)
        )
        services.action_set_status(t, actor=rep, action=done, status=ActionStatus.DONE)
    kpis_set(
        t,
        rep,
        quarter,
        bookings="50000.00",
        attainment="0.5555555556",
        win_rate="0.25",
        sales_cycle_length="33",
        activities="45",
    )
    return upcoming, stalled, behind, overdue


def test_the_next_agenda_holds_exactly_what_changed_with_links(world_a, in_tenant_a):
    upcoming, stalled, behind, overdue = _history(world_a)
    with time_machine.travel(at(TODAY), tick=False):
        items = services.agenda_refresh(world_a.tenant, meeting=upcoming, today=TODAY)
    rows = [
        (i.kind, i.title, i.detail, i.kpi, i.deal_id, i.goal_id, i.objective_id, i.action_id)
        for i in items
    ]
    assert rows == [
        (
            "kpi",
            "Win rate down 25 points since the last 1:1",
            "50% → 25%",
            "win_rate",
            None,
            None,
            None,
            None,
        ),
        (
            "deal",
            "Deal Globex renewal stalled",
            "Qualification: no stage change for 44 days",
            "",
            stalled.pk,
            None,
            None,
            None,
        ),
        (
            "goal",
            "Goal behind pace: Book ten new logos",
            "20% done, due Mar 31, 2027",
            "",
            None,
            behind.pk,
            None,
            None,
        ),
        (
            "action",
            "Overdue action: Send the Globex proposal",
            "due Feb 12, 2027",
            "",
            None,
            None,
            None,
            overdue.pk,
        ),
    ]
    assert [i.added_by_id for i in items] == [None, None, None, None]


def test_a_second_refresh_keeps_the_items_and_a_topic_people_added(world_a, in_tenant_a):
    upcoming, *_ = _history(world_a)
    t = world_a.tenant
    with time_machine.travel(at(TODAY), tick=False):
        first = services.agenda_refresh(t, meeting=upcoming, today=TODAY)
        topic = services.agenda_item_add(
            t, actor=world_a.rep1, meeting=upcoming, title="Territory split"
        )
        services.action_set_status(
            t, actor=world_a.rep1, action=first[3].action, status=ActionStatus.DONE
        )
        second = services.agenda_refresh(t, meeting=upcoming, today=TODAY)
    assert [(i.pk, i.title) for i in second] == [
        (first[0].pk, first[0].title),
        (first[1].pk, first[1].title),
        (first[2].pk, first[2].title),
        (topic.pk, "Territory split"),
    ]


def test_attainment_behind_the_elapsed_share_of_the_quarter_is_on_the_agenda(world_a, in_tenant_a):
    t = world_a.tenant
    _, upcoming = series_with_held_meeting(world_a, held_on=dt.date(2027, 1, 15))
    kpis_set(t, world_a.rep1, q1(t), attainment="0.40")
    items = services.agenda_refresh(t, meeting=upcoming, today=TODAY)
    # 46 of 90 days gone (51%); 40% is more than 10 points behind.
    assert [(i.title, i.detail) for i in items] == [
        ("Attainment behind pace in FY2027 Q1", "40% of quota with 51% of the quarter gone")
    ]


def test_elapsed_share_counts_both_ends():
    class Quarter:
        start, end, days = dt.date(2027, 1, 1), dt.date(2027, 3, 31), 90

    assert elapsed_share(Quarter, today=dt.date(2027, 2, 15)) == Decimal(46) / Decimal(90)
    assert elapsed_share(Quarter, today=dt.date(2026, 12, 31)) == Decimal(0)
    assert elapsed_share(Quarter, today=dt.date(2027, 4, 2)) == Decimal(1)


def test_movements_at_the_threshold_count_and_below_do_not():
    settings = CoachingSettings()
    found = kpi_movements(
        settings=settings,
        old={
            "bookings": Decimal("10000"),
            "activities": Decimal("40"),
            "sales_cycle_length": Decimal("30"),
            "win_rate": None,
        },
        new={
            "bookings": Decimal("12000"),
            "activities": Decimal("49"),
            "sales_cycle_length": Decimal("23"),
            "win_rate": Decimal("0.4"),
        },
        fmt=Formats(currency="USD"),
    )
    assert [(f.kpi, f.title, f.detail) for f in found] == [
        ("bookings", "Bookings up 20% since the last 1:1", "$10,000 → $12,000"),
        ("sales_cycle_length", "Sales cycle down 7.0 days since the last 1:1", "30.0 → 23.0"),
    ]


def test_an_open_commission_dispute_is_on_the_agenda_with_its_statement(world_a, in_tenant_a):
    from incentives.models import Dispute, Statement
    from tests.isolation.objects_incentives import make_objects

    t = world_a.tenant
    make_objects(world_a)
    statement = Statement.objects.get(membership=world_a.rep1)
    # The row a member's dispute writes (incentives.services.dispute_open).
    dispute = Dispute.objects.create(
        tenant=t, statement=statement, membership=world_a.rep1, reason="The Initech deal is missing"
    )
    Dispute.objects.create(
        tenant=t, statement=statement, membership=world_a.rep1, reason="Settled", status="resolved"
    )
    _, upcoming = series_with_held_meeting(world_a, held_on=dt.date(2027, 1, 15))
    items = services.agenda_refresh(t, meeting=upcoming, today=TODAY)
    rows = [(i.kind, i.title, i.detail, i.dispute_id) for i in items]
    assert rows == [
        (
            "dispute",
            "Open commission dispute on the Jan 2027 statement",
            "The Initech deal is missing",
            dispute.pk,
        )
    ]
    assert agenda_link(items[0], slug=t.slug) == f"/alpha/incentives/statements/{statement.pk}/"
