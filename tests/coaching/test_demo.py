"""The coaching demo data: months of 1:1s, assessments, two review cycles, kudos."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.contrib.auth.hashers import make_password

from coaching import demo
from coaching.models import (
    ActionItem,
    AgendaItem,
    Assessment,
    Meeting,
    MeetingStatus,
    Recognition,
    ReviewCycle,
    Series,
)
from spm.demo import GLOBEX, _UserMaker, seed_tenant
from spm.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 2, 15)


def test_demo_seed_gives_every_rep_a_coaching_history(django_assert_max_num_queries):
    tenant, people = seed_tenant(
        GLOBEX, rng=random.Random(7), today=TODAY, users=_UserMaker(make_password("x"))
    )
    reps = [r for r in people.reps if r.is_active and r.team_id in {t.pk for t in people.teams[1:]}]
    with tenant_context(tenant), django_assert_max_num_queries(40 + 30 * len(reps)):
        demo.seed(tenant, rng=random.Random(7), today=TODAY, people=people)
    with tenant_context(tenant):
        assert Series.objects.count() == len(reps)
        assert Meeting.objects.filter(status=MeetingStatus.SCHEDULED).count() == len(reps)
        assert Meeting.objects.filter(status=MeetingStatus.HELD).count() >= 8 * len(reps)
        assert Assessment.objects.count() == len(reps) * 6 * 2 * 2
        assert ActionItem.objects.count() == len(reps) * 3
        assert sorted(ReviewCycle.objects.values_list("name", "status")) == [
            ("FY2027 Q4 review", "closed"),
            ("FY2028 Q1 review", "open"),
        ]
        assert Recognition.objects.filter(kind="kudos").count() == 12
        upcoming = Meeting.objects.filter(status=MeetingStatus.SCHEDULED)
        assert AgendaItem.objects.filter(meeting__in=upcoming).exists()
