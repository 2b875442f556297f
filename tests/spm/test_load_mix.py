"""The load test's request mix (bench/mix.py), walked for a rep, a manager and
an admin: every request answers 200 within a fixed number of queries, so
the figures of ``bench/load.py`` hold for any number of deals and reps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.mix import Subject, requests_for
from goals import services as goal_services
from incentives import services as incentive_services
from incentives.models import Statement
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.isolation.objects_incentives import DOCUMENT
from tests.kpis.factories import period, recompute, won_deal

pytestmark = pytest.mark.django_db

D = dt.date
# The most queries any request of the mix may make (the pages' own pins are
# in tests/kpis, tests/goals and tests/incentives; this is the ceiling).
MAX_QUERIES = 40


@pytest.fixture(autouse=True)
def _end_of_q1():
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def loaded(world_a):
    t = world_a.tenant
    with tenant_context(t):
        q1 = period(t, "quarter")
        for rep, amount in ((world_a.rep1, "20000.00"), (world_a.other_rep, "70000.00")):
            goal_services.quota_set(
                t, actor=world_a.admin, period=q1, membership=rep, amount=Decimal("90000.00")
            )
            won_deal(t, rep, amount, D(2027, 1, 5), D(2027, 1, 14))
        version = incentive_services.plan_version_create(t, source=DOCUMENT, actor=world_a.admin)
        for rep in (world_a.rep1, world_a.other_rep):
            incentive_services.assignment_create(
                t,
                membership=rep,
                version=version,
                start_date=D(2027, 1, 1),
                end_date=None,
                target_incentive=Decimal("0.00"),
                actor=world_a.admin,
            )
        jan = FiscalPeriod.objects.get(tenant=t, kind="month", start=D(2027, 1, 1))
        run = incentive_services.calc_run_start(t, period=jan, actor=world_a.admin)
        incentive_services.calc_run_execute(t, run_id=run.pk)
        recompute(t, *FiscalPeriod.objects.filter(tenant=t, fiscal_year=2027))
        statement = Statement.objects.get(tenant=t, membership=world_a.rep1)
    return world_a, statement


@pytest.mark.parametrize("role", ["rep", "manager", "admin"])
def test_every_request_of_the_load_mix_has_bounded_queries(loaded, role):
    w, statement = loaded
    member = {"rep": w.rep1, "manager": w.manager, "admin": w.admin}[role]
    subject = Subject(
        slug=w.tenant.slug,
        member_id=member.pk,
        team_id=w.team.pk if role != "admin" else w.root_team.pk,
        statement_id=statement.pk if role == "rep" else None,
        fiscal_year=2027,
    )
    client = client_for(member.user)
    counts = {}
    for name, path in requests_for(role, subject).items():
        client.get(path)  # sessions and caches warm, as for a user clicking around
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (name, path, response.status_code)
        counts[name] = len(queries)
    assert {name: n for name, n in counts.items() if n > MAX_QUERIES} == {}, counts
