"""Every KPI page for every role: who gets the page, who a 403 (a page of a
role they do not have) and who a 404 (a subject outside their reach, or of
another tenant), and the exact query count of each page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from kpis import services
from spm import services as spm_services
from spm.models import FiscalPeriod, Role
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.kpis.factories import lost_deal, open_deal, period, recompute, won_deal

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _end_of_q1():
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def computed(world_a, world_b):
    for w in (world_a, world_b):
        t = w.tenant
        with tenant_context(t):
            q1 = period(t, "quarter")
            goal_services.quota_set(
                t, actor=w.admin, period=q1, membership=w.rep1, amount=Decimal("90000.00")
            )
            won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
            lost_deal(t, w.rep1, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
            open_deal(t, w.rep1, "40000.00", D(2027, 2, 15), D(2027, 3, 25))
            won_deal(t, w.other_rep, "70000.00", D(2027, 1, 5), D(2027, 2, 14))
            services.kpi_setting_save(
                t,
                actor=w.admin,
                kpi="attainment",
                green_from=Decimal("1"),
                amber_from=Decimal("0.5"),
            )
            recompute(t, *FiscalPeriod.objects.filter(tenant=t, fiscal_year=2027))
    return world_a


def _pages(w, other):
    """name -> path; ``other`` is the other tenant's world (its ids)."""
    base = f"/{w.tenant.slug}/kpis/"
    return {
        "own-rep": f"{base}reps/{w.rep1.pk}/",
        "west-rep2": f"{base}reps/{w.rep2.pk}/",
        "east-rep": f"{base}reps/{w.other_rep.pk}/",
        "root-team": f"{base}teams/{w.root_team.pk}/",
        "west-team": f"{base}teams/{w.team.pk}/",
        "east-team": f"{base}teams/{w.other_team.pk}/",
        "overview": f"{base}overview/",
        "leaderboards": f"{base}leaderboards/",
        "runs": f"{base}runs/",
        "settings": f"{base}settings/",
        "b-rep": f"{base}reps/{other.rep1.pk}/",
        "b-team": f"{base}teams/{other.team.pk}/",
    }


EXPECTED = {
    # rep1 of West: their own dashboard and leaderboards only
    "rep1": {
        "own-rep": 200, "west-rep2": 404, "east-rep": 404, "root-team": 404, "west-team": 404,
        "east-team": 404, "overview": 403, "leaderboards": 200, "runs": 403, "settings": 403,
        "b-rep": 404, "b-team": 404,
    },
    # the manager of the root team and West: the whole tree, no admin pages
    "manager": {
        "own-rep": 200, "west-rep2": 200, "east-rep": 200, "root-team": 200, "west-team": 200,
        "east-team": 200, "overview": 403, "leaderboards": 200, "runs": 403, "settings": 403,
        "b-rep": 404, "b-team": 404,
    },
    # East's manager: East only
    "other_manager": {
        "own-rep": 404, "west-rep2": 404, "east-rep": 200, "root-team": 404, "west-team": 404,
        "east-team": 200, "overview": 403, "leaderboards": 200, "runs": 403, "settings": 403,
        "b-rep": 404, "b-team": 404,
    },
    "finance": {
        "own-rep": 200, "west-rep2": 200, "east-rep": 200, "root-team": 200, "west-team": 200,
        "east-team": 200, "overview": 200, "leaderboards": 200, "runs": 200, "settings": 403,
        "b-rep": 404, "b-team": 404,
    },
    "admin": {
        "own-rep": 200, "west-rep2": 200, "east-rep": 200, "root-team": 200, "west-team": 200,
        "east-team": 200, "overview": 200, "leaderboards": 200, "runs": 200, "settings": 200,
        "b-rep": 404, "b-team": 404,
    },
}  # fmt: skip


@pytest.mark.parametrize("role", list(EXPECTED))
def test_every_page_for_every_role(computed, world_b, role):
    w = computed
    client = client_for(getattr(w, role).user)

    got = {name: client.get(path).status_code for name, path in _pages(w, world_b).items()}

    assert got == EXPECTED[role]


def test_another_tenants_people_get_404_on_every_page(computed, world_b):
    client = client_for(world_b.admin.user)

    got = {name: client.get(path).status_code for name, path in _pages(computed, world_b).items()}

    assert set(got.values()) == {404}


@pytest.mark.parametrize(
    ("role", "page", "queries"),
    [
        ("rep1", "own-rep", 23),
        ("manager", "west-team", 36),
        ("manager", "root-team", 36),
        ("manager", "west-rep2", 25),
        ("finance", "overview", 21),
        ("rep1", "leaderboards", 17),
        ("admin", "runs", 15),  # the runs, and the periods changed after close
        ("admin", "settings", 16),
    ],
)
def test_query_count_per_page(computed, world_b, django_assert_num_queries, role, page, queries):
    w = computed
    client = client_for(getattr(w, role).user)
    path = _pages(w, world_b)[page]
    client.get(path)  # sessions and caches warm, as for a user clicking around

    with django_assert_num_queries(queries):
        response = client.get(path)

    assert response.status_code == 200


def test_query_count_of_the_team_page_does_not_grow_with_its_people(
    computed, django_assert_num_queries
):
    """Add three reps and a sub-team: the same number of queries."""
    w = computed
    with tenant_context(w.tenant):
        q1 = period(w.tenant, "quarter")
    client = client_for(w.manager.user)
    path = f"/{w.tenant.slug}/kpis/teams/{w.root_team.pk}/?period={q1.pk}"
    client.get(path)
    with django_assert_num_queries(36):
        client.get(path)
    with tenant_context(w.tenant):
        sub = spm_services.team_create(w.tenant, name="West North", parent=w.team)
        for n in range(3):
            spm_services.membership_add(
                w.tenant,
                email=f"new{n}@alpha.test",
                first_name="New",
                last_name=f"Rep{n}",
                role=Role.REP,
                team=sub,
                start_date=D(2026, 1, 1),
            )
        recompute(w.tenant, q1)

    with django_assert_num_queries(36):
        response = client.get(path)
    assert response.status_code == 200
    assert "West North" in response.content.decode()


def test_runs_page_shows_rows_with_separators_and_duration_in_seconds(computed):
    w = computed
    run = services.kpi_recompute_full(w.tenant)  # the clock is frozen: 0.0 s

    body = client_for(w.finance.user).get(f"/{w.tenant.slug}/kpis/runs/").content.decode()

    assert run.rows > 999
    assert f'<td class="num">{run.rows:,}</td>' in body
    assert '<td class="num nowrap">0.0 s</td>' in body
    assert 'data-testid="recompute"' not in body  # finance reads, admins start runs
