"""Statement pages per role: a rep their own, a manager their subtree's,
admins and finance all; another's statement is a 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incentives import services
from incentives.models import Statement
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.isolation.objects_incentives import DOCUMENT
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db


@pytest.fixture
def statements(world_a):
    t = world_a.tenant
    with tenant_context(t):
        version = services.plan_version_create(t, source=DOCUMENT, actor=world_a.admin)
        for member in (world_a.rep1, world_a.other_rep):
            services.assignment_create(
                t,
                membership=member,
                version=version,
                start_date=dt.date(2027, 1, 1),
                end_date=None,
                target_incentive=Decimal("0.00"),
                actor=world_a.admin,
            )
            DealFactory(
                tenant=t,
                owner=member,
                amount=Decimal("5000.00"),
                stage=stage_named(t, "Closed won"),
                expected_close_date=dt.date(2027, 1, 12),
                close_date=dt.date(2027, 1, 12),
            )
        jan = FiscalPeriod.objects.get(tenant=t, kind="month", start=dt.date(2027, 1, 1))
        run = services.calc_run_start(t, period=jan, actor=world_a.admin)
        services.calc_run_execute(t, run_id=run.pk)
        return {s.membership_id: s for s in Statement.objects.filter(tenant=t)}


def test_rep_sees_only_their_statement_with_each_line_explained(world_a, statements):
    client = client_for(world_a.rep1.user)
    listing = client.get("/alpha/incentives/statements/")
    assert listing.status_code == 200
    assert [s.pk for s in listing.context["statements"]] == [statements[world_a.rep1.pk].pk]
    mine = client.get(f"/alpha/incentives/statements/{statements[world_a.rep1.pk].pk}/")
    lines = [(line.amount, line.explanation.split(": ", 1)[1]) for line in mine.context["lines"]]
    assert lines == [(Decimal("500.00"), "5,000.00 x 10% in band 0.00+")]
    assert "5,000.00 x 10% in band 0.00+" in mine.content.decode()
    other = client.get(f"/alpha/incentives/statements/{statements[world_a.other_rep.pk].pk}/")
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("manager", ["rep1", "other_rep"]),
        ("other_manager", ["other_rep"]),
        ("finance", ["rep1", "other_rep"]),
    ],
)
def test_statement_list_follows_reach(
    world_a, statements, role, sees, django_assert_max_num_queries
):
    client = client_for(getattr(world_a, role).user)
    jan = next(iter(statements.values())).period_id
    # The layout (nav, session), the periods, the page of statements, the
    # period's runs and statements, the members without a plan (finance).
    with django_assert_max_num_queries(20):
        response = client.get(f"/alpha/incentives/statements/?period={jan}")
    expected = sorted(statements[getattr(world_a, name).pk].pk for name in sees)
    assert sorted(s.pk for s in response.context["review"].statements) == expected
