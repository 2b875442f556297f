"""Objects of the goals pillar for the isolation tests (see test_discovery.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from goals import services
from goals.models import QuotaChange
from spm.models import FiscalPeriod


def make_objects(world: Any) -> list[Any]:
    t, admin = world.tenant, world.admin
    q1 = FiscalPeriod.objects.get(tenant=t, kind="quarter", fiscal_year=2027, number=1)
    quota = services.quota_set(
        t, actor=admin, period=q1, membership=world.rep1, amount=Decimal("90000.00")
    )
    team_quota = services.quota_set(
        t, actor=admin, period=q1, team=world.team, amount=Decimal("200000.00")
    )
    profile = services.seasonality_profile_save(t, actor=admin, name="Flat", weights=["1"] * 12)
    goal = services.goal_create(
        t,
        actor=admin,
        level="company",
        title="Grow new business bookings by a fifth",
        metric="bookings",
        target_value=Decimal("1200000"),
        rationale="New logos fund the expansion plan",
        start_date=dt.date(2027, 1, 1),
        due_date=dt.date(2027, 12, 31),
    )
    goal = services.goal_approve(t, actor=admin, goal=goal)
    checkin = services.checkin_add(
        t, actor=admin, goal=goal, comment="On track after January", checked_on=dt.date(2027, 2, 1)
    )
    objective = services.objective_create(
        t,
        actor=admin,
        membership=world.rep1,
        period=q1,
        title="Launch the partner channel",
        weight=Decimal("1"),
    )
    score = services.objective_score(t, actor=admin, objective=objective, score=Decimal("0.8"))
    change = QuotaChange.objects.filter(tenant=t, quota=quota).first()
    return [quota, team_quota, change, profile, goal, checkin, objective, score]
