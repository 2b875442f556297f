"""KPI pages per role: content from snapshots, scoping (404 outside reach),
and pinned query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from spm.models import FiscalPeriod
from tests.conftest import client_for
from tests.kpis.factories import lost_deal, open_deal, period, recompute, won_deal

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _end_of_q1():
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def computed(world_a, in_tenant_a):
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter")
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.rep1, amount=Decimal("90000.00")
    )
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, w.rep1, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    lost_deal(t, w.rep1, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
    open_deal(t, w.rep1, "40000.00", D(2027, 2, 15), D(2027, 3, 25))
    won_deal(t, w.other_rep, "70000.00", D(2027, 1, 5), D(2027, 2, 14))
    recompute(t, *FiscalPeriod.objects.filter(tenant=t, fiscal_year=2027))
    return w


def _url(w, name, *args, **query):
    base = f"/{w.tenant.slug}/kpis/{name}"
    if args:
        base += "/".join(str(a) for a in args) + "/"
    if query:
        base += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return base


def test_rep_sees_own_dashboard_with_bookings_and_attainment(
    computed, django_assert_max_num_queries
):
    w = computed
    q1 = period(w.tenant, "quarter")
    client = client_for(w.rep1.user)
    with django_assert_max_num_queries(24):
        response = client.get(_url(w, "reps/", w.rep1.pk, period=q1.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-kpi="bookings">$50,000.00<' in body
    assert 'data-kpi="attainment">55.56%<' in body
    assert 'data-kpi="win-rate">66.67%<' in body
    assert 'data-kpi="sales-cycle">40.0 days<' in body
    assert 'data-kpi="rank">2 of 2<' not in body  # other_rep has no quota: no attainment rank
    assert 'data-kpi="rank">1 of 1<' in body


def test_dashboard_redirects_by_role(computed):
    w = computed
    assert client_for(w.rep1.user).get(_url(w, "")).url == _url(w, "reps/", w.rep1.pk)
    assert client_for(w.manager.user).get(_url(w, "")).url == _url(w, "teams/", w.root_team.pk)
    assert client_for(w.finance.user).get(_url(w, "")).url == _url(w, "overview/")


def test_rep_cannot_open_another_reps_dashboard(computed):
    w = computed
    response = client_for(w.rep1.user).get(_url(w, "reps/", w.rep2.pk))
    assert response.status_code == 404


def test_manager_sees_subtree_but_not_outside(computed, django_assert_max_num_queries):
    w = computed
    q1 = period(w.tenant, "quarter")
    other_manager = client_for(w.other_manager.user)
    assert other_manager.get(_url(w, "reps/", w.rep1.pk)).status_code == 404
    assert other_manager.get(_url(w, "teams/", w.team.pk)).status_code == 404
    assert other_manager.get(_url(w, "reps/", w.other_rep.pk)).status_code == 200
    client = client_for(w.manager.user)
    # 29 for the dashboard, 7 for its forecast card (the roll-up's figures,
    # calls and tree; the manager's top team, the team's quota, its statistical forecast).
    with django_assert_max_num_queries(36):
        response = client.get(_url(w, "teams/", w.team.pk, period=q1.pk))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ray One" in body
    assert "50,000.00" in body
    assert client.get(_url(w, "reps/", w.rep1.pk)).status_code == 200


def test_overview_for_admin_and_finance_only(computed, django_assert_max_num_queries):
    w = computed
    q1 = period(w.tenant, "quarter")
    client = client_for(w.finance.user)
    with django_assert_max_num_queries(22):
        response = client.get(_url(w, "overview/", period=q1.pk))
    assert response.status_code == 200
    assert "120,000.00" in response.content.decode()  # company bookings
    assert client_for(w.rep1.user).get(_url(w, "overview/")).status_code == 403


def test_leaderboard_ranks_reps_for_everyone(computed, django_assert_max_num_queries):
    w = computed
    q1 = period(w.tenant, "quarter")
    client = client_for(w.rep2.user)
    with django_assert_max_num_queries(18):
        response = client.get(_url(w, "leaderboards/", kpi="bookings", period=q1.pk))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Otto Three") < body.index("Ray One")
    assert "70,000.00" in body
    assert "50,000.00" in body


def test_other_tenant_gets_404(computed, world_b):
    w = computed
    outsider = client_for(world_b.admin.user)
    assert outsider.get(_url(w, "overview/")).status_code == 404
    assert (
        client_for(w.admin.user).get(f"/{w.tenant.slug}/kpis/reps/{world_b.rep1.pk}/").status_code
        == 404
    )


def test_overview_chart_compares_the_sub_teams_of_a_single_root(computed):
    """world A: one root team with West and East under it. The chart and its
    numbers table show West (rep1: 50,000.00) and East (other rep: 70,000.00)
    side by side, not the root, whose bar would repeat the company's 120,000.00."""
    w = computed
    q1 = period(w.tenant, "quarter")
    response = client_for(w.finance.user).get(_url(w, "overview/", period=q1.pk))
    figure = response.context["figures"]["teams"]
    assert list(figure["data"][0]["x"]) == ["West", "East"]
    assert [(b.team.name, b.bookings) for b in response.context["dashboard"].bars] == [
        ("West", Decimal("50000.00")),
        ("East", Decimal("70000.00")),
    ]


def test_team_page_compares_its_children_and_pages_its_people(computed, monkeypatch):
    """The root team (Sales) has West and East under it and no reps of its own:
    the chart compares West (rep1: 50,000 of a 90,000 quota, 55.56%) and East
    (no quota). The KPI table lists every team of the subtree on every page and
    the people a page at a time."""
    from kpis.views import TeamDashboardView

    monkeypatch.setattr(TeamDashboardView, "people_per_page", 2)
    w = computed
    q1 = period(w.tenant, "quarter")
    client = client_for(w.manager.user)
    first = client.get(_url(w, "teams/", w.root_team.pk, period=q1.pk))
    second = client.get(_url(w, "teams/", w.root_team.pk, period=q1.pk, people=2))

    assert first.context["dashboard"].compared == "team"
    assert [(c.name, c.attainment_percent) for c in first.context["dashboard"].children] == [
        ("West", Decimal("55.56")),
        ("East", None),
    ]
    assert list(first.context["figures"]["attainment"]["data"][0]["y"]) == ["West", "East"]
    for response in (first, second):
        teams = [r.name for r in response.context["dashboard"].rows if r.kind == "team"]
        assert teams == ["Sales", "West", "East"]
    people = [
        [r.subject.pk for r in response.context["dashboard"].rows if r.kind == "member"]
        for response in (first, second)
    ]
    assert len(people[0]) == 2
    assert people[1]
    assert not set(people[0]) & set(people[1])
    total = first.context["dashboard"].people_page.paginator.count
    assert 'data-testid="people-pager"' in first.content.decode()
    assert f"People 1–2 of {total}" in first.content.decode()
    assert f"period={q1.pk}&amp;people=2" in first.content.decode()

    west = client.get(_url(w, "teams/", w.team.pk, period=q1.pk))
    assert west.context["dashboard"].compared == "rep"
    assert [c.name for c in west.context["dashboard"].children] == ["Ray One", "Rita Two"]
