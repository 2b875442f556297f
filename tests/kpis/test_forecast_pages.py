"""Forecast pages per role: the manager's grid with quotas, gap and coverage,
a member's deals by category, the category change and the call submitted
through the page, and 404 outside reach or tenant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from goals import services as goal_services
from pipeline.forecast.backtest import backtest_period
from pipeline.models import CategoryChange, ForecastCall
from spm.models import FiscalPeriod
from tests.conftest import client_for
from tests.kpis.factories import period, recompute
from tests.pipeline.factories import DealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mid_q1():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def forecast(world_a, in_tenant_a):
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter")
    goal_services.quota_set(
        t, actor=w.admin, period=q1, membership=w.other_rep, amount=Decimal("100000.00")
    )
    DealFactory(
        tenant=t,
        owner=w.other_rep,
        amount=Decimal("20000.00"),
        stage="Closed won",
        close_date=dt.date(2027, 1, 20),
    )
    DealFactory(tenant=t, owner=w.other_rep, amount=Decimal("40000.00"), stage="Closing")
    DealFactory(
        tenant=t,
        owner=w.other_rep,
        amount=Decimal("30000.00"),
        stage="Qualification",
        name="Globex expansion",
    )
    recompute(t, *FiscalPeriod.objects.filter(tenant=t, fiscal_year=2027))
    return q1


def test_manager_grid_shows_calls_quota_gap_and_coverage(world_a, forecast):
    page = client_for(world_a.other_manager.user).get(
        f"/{world_a.tenant.slug}/kpis/forecast/?period={forecast.pk}"
    )

    html = page.content.decode()
    assert page.status_code == 200
    row = html[html.index(f'data-testid="grid-row-{world_a.other_rep.pk}"') :]
    row = row[: row.index("</tr>")]
    # closed 20,000 + commit 40,000 = call 60,000; quota 100,000: gap 40,000;
    # coverage (40,000 + 30,000) / (100,000 - 20,000) = 0.875 -> 0.88.
    assert [cell in row for cell in ("$20,000.00", "$40,000.00", "$30,000.00", "$60,000.00")] == [
        True,
        True,
        True,
        True,
    ]
    assert "$100,000.00" in row
    assert "0.88×" in row
    assert "not submitted" in row


def test_rep_changes_a_category_and_submits_a_call_through_the_page(world_a, forecast):
    client = client_for(world_a.other_rep.user)
    deal = world_a.other_rep.owned_deals.get(name="Globex expansion")

    changed = client.post(
        f"/{world_a.tenant.slug}/kpis/forecast/deals/{deal.pk}/category/",
        {"forecast_category": "commit"},
        HTTP_HX_REQUEST="true",
    )
    submitted = client.post(
        f"/{world_a.tenant.slug}/kpis/forecast/calls/",
        {"period": forecast.pk, "amount": "85000.00", "note": "Globex in"},
        HTTP_HX_REQUEST="true",
    )

    assert changed.status_code == 200
    assert 'value="commit" selected' in changed.content.decode()
    assert CategoryChange.objects.filter(deal=deal).count() == 2
    assert submitted.status_code == 204
    call = ForecastCall.objects.get()
    assert (call.rollup, call.amount, call.note) == (
        Decimal("90000.00"),
        Decimal("85000.00"),
        "Globex in",
    )


def test_a_negative_call_is_shown_beside_the_form_and_nothing_saved(world_a, forecast):
    response = client_for(world_a.other_rep.user).post(
        f"/{world_a.tenant.slug}/kpis/forecast/calls/",
        {"period": forecast.pk, "amount": "-1"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Amount: A call cannot be below zero (this makes it -1.00)." in response.content.decode()
    assert ForecastCall.objects.count() == 0


def test_pages_outside_reach_or_tenant_are_404(world_a, world_b, forecast):
    deal = world_a.other_rep.owned_deals.get(name="Globex expansion")
    rep1 = client_for(world_a.rep1.user)
    outsider = client_for(world_b.admin.user)
    slug = world_a.tenant.slug

    assert rep1.get(f"/{slug}/kpis/forecast/members/{world_a.other_rep.pk}/").status_code == 404
    assert (
        rep1.post(
            f"/{slug}/kpis/forecast/deals/{deal.pk}/category/", {"forecast_category": "commit"}
        ).status_code
        == 404
    )
    assert outsider.get(f"/{slug}/kpis/forecast/").status_code == 404
    assert (
        client_for(world_a.manager.user)
        .get(f"/{slug}/kpis/forecast/?member={world_b.rep1.pk}")
        .status_code
        == 404
    )
    assert CategoryChange.objects.filter(deal=deal).count() == 1


def test_a_rep_opening_the_grid_lands_on_their_own_page(world_a, forecast):
    response = client_for(world_a.rep1.user).get(f"/{world_a.tenant.slug}/kpis/forecast/")

    assert response.status_code == 302
    assert response["Location"] == (
        f"/{world_a.tenant.slug}/kpis/forecast/members/{world_a.rep1.pk}/?period={forecast.pk}"
    )


def test_accuracy_page_lists_each_method_per_team_and_person(world_a, forecast):
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        DealFactory(
            tenant=world_a.tenant,
            owner=world_a.rep1,
            amount=Decimal("5000.00"),
            stage="Closed won",
            close_date=dt.date(2026, 11, 10),
            created_on=dt.date(2026, 10, 2),
        )
        backtest_period(world_a.tenant, period=period(world_a.tenant, "quarter", 2026, 4))

    page = client_for(world_a.manager.user).get(
        f"/{world_a.tenant.slug}/kpis/forecast/accuracy/?point=last_week"
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert 'aria-current="page">One week before the end</a>' in html
    # Won on 10 Nov, so known closed one week before the end: both models exact.
    people = html[html.index('data-testid="accuracy-member"') :]
    assert (
        'Ray One</td><td class="num">–</td><td class="num">–</td><td class="num">100.0%' in people
    )
    assert "No data for this period" not in html


def test_team_dashboard_shows_forecast_against_quota(world_a, forecast):
    page = client_for(world_a.other_manager.user).get(
        f"/{world_a.tenant.slug}/kpis/teams/{world_a.other_team.pk}/?period={forecast.pk}"
    )

    html = page.content.decode()
    card = html[html.index('data-testid="team-forecast"') :]
    assert page.status_code == 200
    assert '<tr><td>Call</td><td class="num">$60,000.00</td></tr>' in card
    assert 'id="fig-forecast"' in html
