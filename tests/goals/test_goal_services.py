"""SMART goals: the check, the cascade, approval, check-ins and progress."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from goals import selectors, services
from goals.models import Goal, GoalStatus, Metric
from spm.models import AuditEvent
from tests.goals.factories import GoalFactory

pytestmark = pytest.mark.django_db


def test_a_vague_goal_is_refused_naming_each_missing_smart_property(world_a, in_tenant_a):
    with pytest.raises(ValidationError) as exc:
        services.goal_create(
            world_a.tenant,
            actor=world_a.rep1,
            level="member",
            owner_membership=world_a.rep1,
            title="Sell more",
            metric="manual",
            target_value="lots",
            rationale="",
            start_date=dt.date(2027, 3, 1),
            due_date=dt.date(2027, 2, 1),
        )
    assert exc.value.message_dict == {
        "title": [
            "Specific: 'Sell more' is too vague; say what will be achieved in at least 3 words "
            "(for example 'Win 5 new healthcare accounts')."
        ],
        "target_value": ["Measurable: the target 'lots' is not a number."],
        "rationale": ["Relevant: say why this goal matters."],
        "parent": [
            "Relevant: choose the higher goal this one supports "
            "(goals cascade company -> team -> member)."
        ],
        "due_date": ["Time-bound: the due date is before the start date."],
        "smart": [
            "This goal is not SMART yet. Missing or weak: Specific, Measurable, Relevant, "
            "Time-bound."
        ],
    }
    assert Goal.objects.count() == 0


def test_no_target_and_no_dates_are_named(world_a, in_tenant_a):
    with pytest.raises(ValidationError) as exc:
        services.goal_create(
            world_a.tenant,
            actor=world_a.admin,
            level="company",
            title="Grow recurring revenue in the mid-market",
            metric="bookings",
            target_value=None,
            rationale="It funds the product roadmap",
            start_date=None,
            due_date=None,
        )
    assert exc.value.message_dict == {
        "target_value": ["Measurable: there is no target; give the value to reach."],
        "start_date": ["Time-bound: there is no start date."],
        "due_date": ["Time-bound: there is no due date."],
        "smart": ["This goal is not SMART yet. Missing or weak: Measurable, Time-bound."],
    }


def test_a_percentage_target_above_100_is_not_achievable(world_a, in_tenant_a):
    with pytest.raises(ValidationError) as exc:
        GoalFactory(
            tenant=world_a.tenant,
            actor=world_a.admin,
            metric=Metric.WIN_RATE,
            target_value=Decimal("140"),
        )
    assert exc.value.message_dict["target_value"] == [
        "Achievable: a percentage target must lie between 0 and 100."
    ]


def test_goals_cascade_company_team_member_and_approval(world_a, in_tenant_a):
    t = world_a.tenant
    company = GoalFactory(tenant=t, actor=world_a.admin)
    team_goal = GoalFactory(
        tenant=t,
        actor=world_a.manager,
        level="team",
        owner_team=world_a.team,
        parent=company,
        title="West closes 600k of new business",
    )
    rep_goal = GoalFactory(
        tenant=t,
        actor=world_a.rep1,
        level="member",
        owner_membership=world_a.rep1,
        parent=team_goal,
        title="Book 20 discovery calls a month",
        metric=Metric.MANUAL,
        unit="calls",
        target_value=Decimal("20"),
        submit=True,
    )
    assert rep_goal.status == GoalStatus.PROPOSED
    with pytest.raises(ValidationError) as upside_down:
        GoalFactory(
            tenant=t,
            actor=world_a.manager,
            level="team",
            owner_team=world_a.team,
            parent=rep_goal,
            title="Team goal under a rep goal",
        )
    assert upside_down.value.message_dict["parent"] == [
        "Relevant: a team goal must support a goal at a higher level, not a member goal."
    ]
    with pytest.raises(PermissionDenied):
        services.goal_approve(t, actor=world_a.rep1, goal=rep_goal)
    with pytest.raises(PermissionDenied):
        services.goal_approve(t, actor=world_a.other_manager, goal=rep_goal)
    approved = services.goal_approve(t, actor=world_a.manager, goal=rep_goal)
    assert (approved.status, approved.approved_by) == (GoalStatus.APPROVED, world_a.manager)
    tree = selectors.goal_tree(t, viewer=world_a.rep1)
    assert [(n.depth, n.goal.title) for n in tree] == [
        (0, company.title),
        (1, "West closes 600k of new business"),
        (2, "Book 20 discovery calls a month"),
    ]
    assert list(
        AuditEvent.objects.filter(object_id=str(rep_goal.pk), object_type="goals.goal")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["goal.create", "goal.approve"]


def test_check_ins_drive_the_progress_of_a_manual_goal(world_a, in_tenant_a):
    t = world_a.tenant
    company = GoalFactory(tenant=t, actor=world_a.admin)
    goal = GoalFactory(
        tenant=t,
        actor=world_a.manager,
        level="member",
        owner_membership=world_a.rep1,
        parent=company,
        title="Book 20 discovery calls a month",
        metric=Metric.MANUAL,
        target_value=Decimal("20"),
    )
    with pytest.raises(ValidationError) as draft:
        services.checkin_add(t, actor=world_a.rep1, goal=goal, value=Decimal("5"))
    assert draft.value.message_dict == {"goal": ["Check-ins are recorded on approved goals only."]}
    goal = services.goal_approve(t, actor=world_a.manager, goal=goal)
    services.checkin_add(
        t,
        actor=world_a.rep1,
        goal=goal,
        value=Decimal("5"),
        comment="Slow start",
        checked_on=dt.date(2027, 1, 31),
    )
    services.checkin_add(
        t,
        actor=world_a.rep1,
        goal=goal,
        value=Decimal("15"),
        comment="Picking up",
        checked_on=dt.date(2027, 2, 14),
    )
    goal.refresh_from_db()
    assert (goal.progress_value, goal.progress, goal.progress_percent) == (
        Decimal("15.0000"),
        Decimal("0.7500"),
        75,
    )
    with pytest.raises(PermissionDenied):
        services.checkin_add(t, actor=world_a.rep2, goal=goal, value=Decimal("19"))


def test_kpi_goals_take_progress_from_the_kpi_engine_not_check_ins(world_a, in_tenant_a):
    t = world_a.tenant
    goal = services.goal_approve(
        t, actor=world_a.admin, goal=GoalFactory(tenant=t, actor=world_a.admin)
    )
    services.checkin_add(
        t,
        actor=world_a.admin,
        goal=goal,
        comment="Two big deals slipped to Q2",
        checked_on=dt.date(2027, 2, 15),
    )
    assert services.goal_progress_record(t, values={goal.pk: Decimal("300000")}) == 1
    goal.refresh_from_db()
    assert (goal.progress_value, goal.progress_percent) == (Decimal("300000.0000"), 25)
