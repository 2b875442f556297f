"""The goals demo data: quotas for every rep and team, a goal cascade, scored objectives."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.db.models import Sum

from goals import demo, selectors
from goals.models import Goal, GoalLevel, Objective, ObjectiveScore, Quota
from spm.demo import GLOBEX, _UserMaker, seed_tenant
from spm.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 2, 15)


def test_demo_seed_covers_every_rep_and_team(django_assert_max_num_queries):
    tenant, people = seed_tenant(
        GLOBEX, rng=random.Random(7), today=TODAY, users=_UserMaker(make_password("x"))
    )
    with tenant_context(tenant), django_assert_max_num_queries(60):
        demo.seed(tenant, rng=random.Random(7), today=TODAY, people=people)
    with tenant_context(tenant):
        quarter_quotas = Quota.objects.filter(period__kind="quarter")
        assert set(quarter_quotas.filter(team__isnull=False).values_list("team_id", flat=True)) == {
            t.pk for t in people.teams
        }
        assert set(
            quarter_quotas.filter(membership__isnull=False).values_list("membership_id", flat=True)
        ) == {r.pk for r in people.reps}
        # Months add up to their quarter to the cent.
        rep = people.reps[0]
        quarter = quarter_quotas.filter(membership=rep).order_by("period__start").last()
        months = Quota.objects.filter(
            membership=rep,
            period__kind="month",
            period__start__gte=quarter.period.start,
            period__end__lte=quarter.period.end,
        )
        assert months.aggregate(total=Sum("amount"))["total"] == quarter.amount
        levels = list(Goal.objects.values_list("level", flat=True))
        assert levels.count(GoalLevel.COMPANY) == 1
        assert levels.count(GoalLevel.TEAM) == len(people.teams) - 1
        assert Goal.objects.filter(
            level=GoalLevel.MEMBER, parent__level=GoalLevel.TEAM
        ).count() == (levels.count(GoalLevel.MEMBER))
        assert Objective.objects.count() == ObjectiveScore.objects.count() > 0
        sets = selectors.objective_sets(tenant, viewer=people.admin)
        assert all(s.is_complete and s.score is not None for s in sets)
        assert all(Decimal("0.4") <= s.score <= Decimal("1.2") for s in sets)
