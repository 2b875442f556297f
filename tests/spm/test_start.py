"""Each role's start page: their figures and what needs them today."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from pipeline.models import StageChange
from spm.models import FiscalPeriod
from tests.conftest import client_for
from tests.kpis.factories import open_deal, period, recompute, won_deal

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _end_of_q1():
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def figures(world_a, world_b, in_tenant_a):
    """Q1 2027, today Mar 31: rep1 has a 90,000.00 quota and 50,000.00 won;
    one open deal past its expected close (Mar 25), one stalled since Feb 1
    (tenant setting: 30 days), one fresh; rep2 and other_rep have no quota."""
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter")
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.rep1, amount=Decimal("90000.00")
    )
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, w.rep1, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    open_deal(t, w.rep1, "40000.00", D(2027, 3, 1), D(2027, 3, 25), name="Late one")
    stalled = open_deal(t, w.rep1, "15000.00", D(2027, 1, 20), D(2027, 5, 15), name="Stuck one")
    StageChange.objects.filter(tenant=t, deal=stalled).update(
        changed_at=dt.datetime(2027, 2, 1, 9, 0, tzinfo=dt.UTC)
    )
    open_deal(t, w.rep1, "9000.00", D(2027, 3, 20), D(2027, 6, 10), name="Fresh one")
    open_deal(t, w.other_rep, "7000.00", D(2027, 1, 2), D(2027, 3, 2), name="East late")
    recompute(t, *FiscalPeriod.objects.filter(tenant=t, fiscal_year=2027))
    return w


def test_rep_start_page_answers_earned_gap_and_what_needs_them(figures, django_assert_num_queries):
    client = client_for(figures.rep1.user)
    # One for the overdue action items, one for the commission published to date.
    with django_assert_num_queries(25):
        response = client.get("/alpha/")
    start = response.context["start"]
    f = start.figures
    assert (f.bookings, f.quota, f.attainment.quantize(Decimal("0.0001")), f.gap) == (
        Decimal("50000.00"),
        Decimal("90000.00"),
        Decimal("0.5556"),
        Decimal("40000.00"),
    )
    assert [(d.name, d.is_overdue, d.is_stalled) for d in start.attention] == [
        ("Late one", True, False),
        ("Stuck one", False, True),
    ]
    html = response.content.decode()
    assert '<dd data-testid="fig-bookings">$50,000.00</dd>' in html
    assert '<dd data-testid="fig-gap">$40,000.00</dd>' in html
    assert "Past close date Mar 25, 2027" in html
    assert "No move since Feb 1, 2027" in html
    assert '<dd data-testid="fig-commission">$0.00</dd>' in html
    assert response.context["commission_chart"]["empty"] == "No data for this period"


def test_manager_start_page_covers_the_subtree(figures, django_assert_num_queries):
    client = client_for(figures.manager.user)
    with django_assert_num_queries(32):
        response = client.get("/alpha/")
    start = response.context["start"]
    assert start.subject == "Sales"
    assert start.figures.bookings == Decimal("50000.00")
    assert [d.name for d in start.attention] == ["East late", "Late one", "Stuck one"]
    assert [m.display_name for m in start.without_quota] == ["Otto Three", "Rita Two"]
    assert [(line.member.display_name, line.attainment is None) for line in start.reps] == [
        ("Ray One", False),
        ("Otto Three", True),
        ("Rita Two", True),
    ]


def test_admin_start_page_shows_company_figures_people_without_team_and_runs(
    figures, django_assert_num_queries
):
    client = client_for(figures.admin.user)
    with django_assert_num_queries(27):
        response = client.get("/alpha/")
    start = response.context["start"]
    assert (start.subject, start.figures.bookings, start.figures.quota) == (
        "Alpha Inc",
        Decimal("50000.00"),
        Decimal("90000.00"),
    )
    assert start.attention_count == 3
    assert [m.display_name for m in start.without_team] == ["Ada Admin", "Fin Ance"]
    assert [m.display_name for m in start.without_quota] == ["Otto Three", "Rita Two"]
    html = response.content.decode()
    assert '<dd data-testid="fig-gap">$40,000.00</dd>' in html


def test_another_tenants_user_sees_none_of_it(figures, world_b):
    response = client_for(world_b.rep1.user).get("/beta/")
    start = response.context["start"]
    assert (start.figures.bookings, start.attention) == (None, [])
    assert client_for(world_b.rep1.user).get("/alpha/").status_code == 404
