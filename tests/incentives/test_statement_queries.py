"""The statement page and the statements API read in a fixed number of
queries, whatever the number of lines or statements (no query per line)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incentives import services
from incentives.models import Statement
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.isolation.objects_incentives import DOCUMENT
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db


def _statements(world):
    """January run: rep1 with six won deals (six lines), rep2 with one."""
    t = world.tenant
    with tenant_context(t):
        version = services.plan_version_create(t, source=DOCUMENT, actor=world.admin)
        for member, deals in ((world.rep1, 6), (world.rep2, 1), (world.other_rep, 1)):
            services.assignment_create(
                t,
                membership=member,
                version=version,
                start_date=dt.date(2027, 1, 1),
                end_date=None,
                target_incentive=Decimal("0.00"),
                actor=world.admin,
            )
            for day in range(1, deals + 1):
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


def _queries(client, url):
    client.get(url)  # the session and caches warm
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


def test_statement_page_and_api_queries_do_not_grow_with_lines(world_a):
    jan, statements = _statements(world_a)
    counts = {}
    for rep, lines in ((world_a.rep1, 6), (world_a.rep2, 1)):
        mine = statements[rep.pk]
        page, response = _queries(client_for(rep.user), f"/alpha/incentives/statements/{mine.pk}/")
        assert len(response.context["lines"]) == lines
        api, response = _queries(
            api_client_for(rep.user), f"/api/v1/alpha/statement-lines/?statement={mine.pk}"
        )
        assert len(response.json()["results"]) == lines
        counts[lines] = (page, api)
    # The layout (session, user, membership, nav, locale) takes about a dozen.
    assert counts[6] == counts[1]
    assert counts[1][0] == PAGE_QUERIES
    assert counts[1][1] <= API_QUERIES
    listing, response = _queries(
        api_client_for(world_a.finance.user), f"/api/v1/alpha/statements/?period={jan.pk}"
    )
    assert len(response.json()["results"]) == 3
    assert listing <= API_QUERIES


PAGE_QUERIES = 18
API_QUERIES = 12
