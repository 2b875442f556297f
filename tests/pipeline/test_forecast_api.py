"""Forecasting over the API: categories on deals with their history, calls
submitted and listed per reach, roll-ups with submitted and adjusted figures,
CSV, and problem+json naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from pipeline.forecast.services import forecast_call_submit
from pipeline.forecast.snapshots import forecast_snapshot_take
from pipeline.forecast.stats import stat_forecast_compute
from pipeline.models import ForecastCall
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, if_match
from tests.pipeline.factories import DealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def url(world, path: str) -> str:
    return f"/api/v1/{world.tenant.slug}/{path}"


@pytest.fixture
def q1(world_a):
    with tenant_context(world_a.tenant):
        return FiscalPeriod.objects.get(
            tenant=world_a.tenant, kind="quarter", start=dt.date(2027, 1, 1)
        )


@pytest.fixture
def deals(world_a):
    with tenant_context(world_a.tenant):
        t = world_a.tenant
        won = DealFactory(
            tenant=t,
            owner=world_a.rep1,
            amount=Decimal("30000.00"),
            stage="Closed won",
            close_date=dt.date(2027, 1, 20),
        )
        open_deal = DealFactory(
            tenant=t, owner=world_a.rep1, amount=Decimal("8000.00"), stage="Qualification"
        )
        east = DealFactory(
            tenant=t, owner=world_a.other_rep, amount=Decimal("40000.00"), stage="Closing"
        )
        return won, open_deal, east


def test_the_owner_changes_a_category_and_reads_its_history(world_a, deals):
    _won, open_deal, _east = deals
    client = api_client_for(world_a.rep1.user)

    deal_url = url(world_a, f"deals/{open_deal.pk}/")
    changed = client.patch(
        deal_url, {"forecast_category": "commit"}, format="json", **if_match(client, deal_url)
    )
    history = client.get(url(world_a, f"deals/{open_deal.pk}/categories/"))

    assert changed.status_code == 200
    assert changed.json()["forecast_category"] == "commit"
    assert [(c["from_category"], c["to_category"], c["changed_by"]) for c in history.json()] == [
        ("", "pipeline", None),
        ("pipeline", "commit", world_a.rep1.pk),
    ]


def test_an_unknown_category_names_the_field(world_a, deals):
    _won, open_deal, _east = deals

    client = api_client_for(world_a.rep1.user)
    deal_url = url(world_a, f"deals/{open_deal.pk}/")
    response = client.patch(
        deal_url, {"forecast_category": "maybe"}, format="json", **if_match(client, deal_url)
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "forecast_category", "message": '"maybe" is not a valid choice.'}
    ]


def test_rep_submits_and_the_manager_adjusts_and_the_vp_sees_both(world_a, deals, q1):
    rep = api_client_for(world_a.other_rep.user)
    east = api_client_for(world_a.other_manager.user)

    submitted = rep.post(
        url(world_a, "forecast-calls/"),
        {"period": q1.pk, "amount": "35000.00", "note": "Globex slips"},
        format="json",
    )
    adjusted = east.post(
        url(world_a, "forecast-calls/"),
        {"period": q1.pk, "adjustment": "5000.00", "note": "Globex signs"},
        format="json",
    )
    vp = api_client_for(world_a.manager.user).get(url(world_a, f"forecast-rollups/?period={q1.pk}"))

    assert submitted.status_code == 201
    assert (submitted.json()["rollup"], submitted.json()["amount"]) == ("40000.00", "35000.00")
    assert adjusted.status_code == 201
    assert (adjusted.json()["rollup"], adjusted.json()["adjustment"]) == ("35000.00", "5000.00")
    body = vp.json()
    assert body["call"] == "70000.00"
    by_name = {row["name"]: row for row in body["rows"]}
    assert (
        by_name["Max Other"]["submitted_rollup"],
        by_name["Max Other"]["submitted_amount"],
        by_name["Max Other"]["call"],
    ) == ("35000.00", "40000.00", "40000.00")
    assert by_name["Ray One"]["call"] == "30000.00"
    assert by_name["Ray One"]["submitted_at"] is None


def test_rollup_as_csv(world_a, deals, q1):
    response = api_client_for(world_a.admin.user).get(
        url(
            world_a,
            f"forecast-rollups/?period={q1.pk}&member={world_a.other_manager.pk}&format=csv",
        )
    )

    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == (
        "member,name,closed,commit,best_case,pipeline,omitted,weighted,rollup,adjustment,"
        "call,submitted_rollup,submitted_amount,submitted_at"
    )
    assert lines[2] == (
        f"{world_a.other_rep.pk},Otto Three,0.00,40000.00,0.00,0.00,0.00,32000.00,"
        "40000.00,0.00,40000.00,,,"
    )


def test_a_manager_cannot_submit_for_another_subtree(world_a, deals, q1):
    response = api_client_for(world_a.other_manager.user).post(
        url(world_a, "forecast-calls/"),
        {"period": q1.pk, "member": world_a.rep1.pk, "adjustment": "1000.00"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "member", "message": "You can only submit or adjust calls of your own subtree."}
    ]
    with tenant_context(world_a.tenant):
        assert ForecastCall.objects.count() == 0


def test_a_negative_or_non_numeric_call_names_the_amount(world_a, deals, q1):
    client = api_client_for(world_a.rep1.user)

    negative = client.post(
        url(world_a, "forecast-calls/"), {"period": q1.pk, "amount": "-5.00"}, format="json"
    )
    words = client.post(
        url(world_a, "forecast-calls/"), {"period": q1.pk, "amount": "a lot"}, format="json"
    )

    assert negative.json()["errors"] == [
        {"field": "amount", "message": "A call cannot be below zero (this makes it -5.00)."}
    ]
    assert words.json()["errors"] == [{"field": "amount", "message": "A valid number is required."}]
    with tenant_context(world_a.tenant):
        assert ForecastCall.objects.count() == 0


def test_calls_by_reach_and_the_other_tenant(world_a, world_b, deals, q1):
    with tenant_context(world_a.tenant):
        forecast_call_submit(world_a.tenant, period=q1, actor=world_a.rep1)
        forecast_call_submit(world_a.tenant, period=q1, actor=world_a.other_rep)

    def members(user):
        response = api_client_for(user).get(url(world_a, "forecast-calls/"))
        return sorted(row["member"] for row in response.json()["results"])

    assert members(world_a.rep1.user) == [world_a.rep1.pk]
    assert members(world_a.other_manager.user) == [world_a.other_rep.pk]
    assert members(world_a.finance.user) == sorted([world_a.rep1.pk, world_a.other_rep.pk])
    assert (
        api_client_for(world_b.admin.user).get(url(world_a, "forecast-calls/")).status_code == 404
    )
    other_rollup = api_client_for(world_a.rep1.user).get(
        url(world_a, f"forecast-rollups/?member={world_a.other_rep.pk}")
    )
    assert other_rollup.status_code == 404


def test_statistical_forecast_and_deal_odds_by_reach(world_a, world_b, deals, q1):
    with tenant_context(world_a.tenant):
        stat_forecast_compute(world_a.tenant, period=q1, day=dt.date(2027, 2, 15), simulations=100)
    _won, open_deal, east = deals

    def subjects(user):
        response = api_client_for(user).get(url(world_a, "forecast-stats/"), {"period": q1.pk})
        return sorted((r["subject_kind"], r["subject_id"]) for r in response.json()["results"])

    rep_odds = api_client_for(world_a.rep1.user).get(url(world_a, "forecast-odds/")).json()
    assert subjects(world_a.rep1.user) == [("member", world_a.rep1.pk)]
    assert ("company", 0) in subjects(world_a.admin.user)
    assert ("company", 0) not in subjects(world_a.other_manager.user)
    assert [row["deal"] for row in rep_odds["results"]] == [open_deal.pk]
    # No history: the stage's probability (Qualification 20 %) stands, no factor moves it.
    assert (rep_odds["results"][0]["probability"], rep_odds["results"][0]["expected"]) == (
        "0.200000",
        "1600.00",
    )
    assert [f["factor"] for f in rep_odds["results"][0]["factors"]] == [
        "Stage Qualification",
        "0 days in stage",
        "Size: smallest quarter of deals",
    ]
    other = api_client_for(world_b.admin.user).get(url(world_a, "forecast-odds/"))
    assert other.status_code == 404


def test_trend_and_waterfall_of_a_subtree(world_a, deals, q1):
    with tenant_context(world_a.tenant):
        forecast_snapshot_take(world_a.tenant, period=q1, day=dt.date(2027, 2, 15))
    client = api_client_for(world_a.other_manager.user)

    trend = client.get(url(world_a, "forecast-trends/"), {"period": q1.pk}).json()
    waterfall = client.get(url(world_a, "forecast-trends/waterfall/"), {"period": q1.pk}).json()

    assert trend["rows"] == [
        {
            "day": "2027-02-15",
            "closed": "0.00",
            "commit": "40000.00",
            "best_case": "0.00",
            "pipeline": "0.00",
            "omitted": "0.00",
            "lost": "0.00",
            "weighted": "32000.00",
        }
    ]
    assert (waterfall["start"], waterfall["end"]) == ("0.00", "40000.00")
    assert waterfall["rows"][0] == {"step": "New deals", "amount": "40000.00"}
