"""The incentives demo data: four plans, published past statements with a
clawback, a new hire's draw, a manual adjustment and a current preview."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goals import demo as goals_demo
from incentives import demo
from incentives.models import Assignment, CalcRun, PlanVersion, Statement, StatementLine
from pipeline import demo as pipeline_demo
from spm.demo import GLOBEX, _UserMaker, seed_tenant
from spm.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
TODAY = dt.date(2027, 2, 15)
# Plans, five runs (each a fixed number of statements per plan version, a
# publish recomputes its inputs; four approvals asked and given, about 15
# queries each), one cancelled deal, the plan acceptances: about 580 in all.
QUERY_BOUND = 620


def test_demo_seed_publishes_statements_with_a_clawback_and_an_adjustment():
    tenant, people = seed_tenant(
        GLOBEX, rng=random.Random(7), today=TODAY, users=_UserMaker(make_password("x"))
    )
    with tenant_context(tenant):
        pipeline_demo.seed(tenant, rng=random.Random(7), today=TODAY, people=people)
        goals_demo.seed(tenant, rng=random.Random(7), today=TODAY, people=people)
        with CaptureQueriesContext(connection) as queries:
            demo.seed(tenant, rng=random.Random(7), today=TODAY, people=people)
        # Five runs of one engine pass per plan and bulk writes: the count does
        # not grow with reps or deals.
        assert len(queries) < QUERY_BOUND
        assert sorted(PlanVersion.objects.values_list("plan__name", flat=True)) == [
            "Account Executive",
            "Account Executive, new hire",
            "Sales Development",
            "Sales Manager",
        ]
        assert set(Assignment.objects.values_list("membership_id", flat=True)) >= {
            m.pk for m in [people.top_manager, *people.managers]
        }
        runs = list(
            CalcRun.objects.order_by("period__start").values_list("period__label", "status")
        )
        assert runs == [
            ("Oct 2026", "published"),
            ("Nov 2026", "published"),
            ("Dec 2026", "published"),
            ("Jan 2027", "published"),
            ("Feb 2027", "preview"),
        ]
        lines = StatementLine.objects.filter(statement__run__status__in=["published", "preview"])
        kinds = set(lines.values_list("kind", flat=True))
        assert {"commission", "spiff", "adjustment", "manual"} <= kinds
        assert lines.filter(kind="adjustment", explanation__contains="reversed").exists()
        assert lines.filter(component="draw").exists()
        for statement in Statement.objects.all():
            assert statement.total == sum(
                (line.amount for line in statement.lines.all()), start=statement.total * 0
            )
