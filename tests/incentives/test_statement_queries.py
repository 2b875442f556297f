"""The statement page and the statements API read in a fixed number of
queries, whatever the number of lines or statements (no query per line)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incentives import services
from incentives.models import Statement
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.isolation.objects_incentives import DOCUMENT
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db


def _statements(world, deals_each):
    t = world.tenant
    with tenant_context(t):
        version = services.plan_version_create(t, source=DOCUMENT, actor=world.admin)
        for member in (world.rep1, world.rep2, world.other_rep):
            services.assignment_create(
                t,
                membership=member,
                version=version,
                start_date=dt.date(2027, 1, 1),
                end_date=None,
                target_incentive=Decimal("0.00"),
                actor=world.admin,
            )
            for day in range(1, deals_each + 1):
                DealFactory(
                    tenant=t,
                    owner=member,
                    amount=Decimal("1000.00"),
                    stage=stage_named(t, "Closed won"),
                    expected_close_date=dt.date(2027, 1, day),
                    close_date=dt.date(2027, 1, day),
                )
        jan = FiscalPeriod.objects.get(tenant=t, kind="month", start=dt.date(2027, 1, 1))
        run = services.calc_run_start(t, period=jan, actor=world.admin)
        services.calc_run_execute(t, run_id=run.pk)
        return jan, {s.membership_id: s for s in Statement.objects.filter(tenant=t)}


@pytest.mark.parametrize("deals_each", [1, 6])
def test_statement_page_and_api_queries_do_not_grow_with_lines(
    world_a, deals_each, django_assert_num_queries
):
    jan, statements = _statements(world_a, deals_each)
    mine = statements[world_a.rep1.pk]
    page = client_for(world_a.rep1.user)
    url = f"/alpha/incentives/statements/{mine.pk}/"
    page.get(url)  # the session and caches warm
    with django_assert_num_queries(PAGE_QUERIES):
        response = page.get(url)
    assert len(response.context["lines"]) == deals_each
    rep_api = api_client_for(world_a.rep1.user)
    lines_url = f"/api/v1/alpha/statement-lines/?statement={mine.pk}"
    rep_api.get(lines_url)
    with django_assert_num_queries(LINES_QUERIES):
        response = rep_api.get(lines_url)
    assert len(response.json()["results"]) == deals_each
    finance_api = api_client_for(world_a.finance.user)
    list_url = f"/api/v1/alpha/statements/?period={jan.pk}"
    finance_api.get(list_url)
    with django_assert_num_queries(LIST_QUERIES):
        response = finance_api.get(list_url)
    assert len(response.json()["results"]) == 3


PAGE_QUERIES = 1
LINES_QUERIES = 1
LIST_QUERIES = 1
