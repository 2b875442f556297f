"""A rep opens, read-only, every deal they hold split credit on (the credit
counts in their bookings); a deal without their credit stays 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from pipeline.models import Deal, DealSplit
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for, if_match
from tests.pipeline.factories import DealFactory


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def credited(world_a):
    """East's deal, 2,500.00: rep3 (the owner) 60 %, rep1 40 %."""
    with tenant_context(world_a.tenant):
        return DealFactory(
            tenant=world_a.tenant,
            owner=world_a.other_rep,
            name="Shared win",
            amount=Decimal("2500.00"),
            splits=[(world_a.other_rep, Decimal("60")), (world_a.rep1, Decimal("40"))],
        )


def _splits(world, deal):
    with tenant_context(world.tenant):
        return list(
            DealSplit.objects.filter(deal=deal)
            .order_by("member_id")
            .values_list("member_id", "percent", "credited_amount")
        )


def test_the_api_shows_a_rep_the_deal_they_hold_credit_on(world_a, credited):
    response = api_client_for(world_a.rep1.user).get(f"/api/v1/alpha/deals/{credited.pk}/")
    body = response.json()
    assert (response.status_code, body["name"], body["owner"], body["amount"]) == (
        200,
        "Shared win",
        world_a.other_rep.pk,
        "2500.00",
    )
    assert sorted((s["member"], s["percent"], s["credited_amount"]) for s in body["splits"]) == [
        (world_a.rep1.pk, "40.00", "1000.00"),
        (world_a.other_rep.pk, "60.00", "1500.00"),
    ]
    listed = api_client_for(world_a.rep1.user).get("/api/v1/alpha/deals/").json()["results"]
    assert [d["name"] for d in listed] == ["Shared win"]


def test_the_api_refuses_a_credited_rep_every_change(world_a, credited):
    api = api_client_for(world_a.rep1.user)
    splits = _splits(world_a, credited)
    patch = api.patch(f"/api/v1/alpha/deals/{credited.pk}/", {"name": "Mine"}, format="json")
    delete = api.delete(f"/api/v1/alpha/deals/{credited.pk}/")
    assert (patch.status_code, patch.json()["detail"]) == (
        403,
        "You may read this record but not change it.",
    )
    assert delete.status_code == 403
    with tenant_context(world_a.tenant):
        deal = Deal.objects.get(pk=credited.pk)
    assert (deal.name, deal.amount, deal.owner_id) == (
        "Shared win",
        Decimal("2500.00"),
        world_a.other_rep.pk,
    )
    assert _splits(world_a, credited) == splits


def test_the_owners_manager_still_changes_the_deal(world_a, credited):
    api = api_client_for(world_a.other_manager.user)
    deal_url = f"/api/v1/alpha/deals/{credited.pk}/"
    patch = api.patch(deal_url, {"name": "Shared"}, format="json", **if_match(api, deal_url))
    assert (patch.status_code, patch.json()["name"]) == (200, "Shared")


def test_the_deal_page_shows_a_credited_rep_the_deal_without_edit_controls(world_a, credited):
    client = client_for(world_a.rep1.user)
    response = client.get(f"/alpha/pipeline/deals/{credited.pk}/")
    assert (response.status_code, response.context["can_edit"]) == (200, False)
    assert ("form" in response.context, "split_formset" in response.context) == (False, False)
    assert "Shared win" in response.content.decode()
    post = client.post(f"/alpha/pipeline/deals/{credited.pk}/", {"name": "Mine"})
    assert post.status_code == 403
    with tenant_context(world_a.tenant):
        assert Deal.objects.get(pk=credited.pk).name == "Shared win"


def test_a_rep_without_credit_still_gets_404(world_a, credited):
    assert (
        client_for(world_a.rep2.user).get(f"/alpha/pipeline/deals/{credited.pk}/").status_code
        == 404
    )
    response = api_client_for(world_a.rep2.user).get(f"/api/v1/alpha/deals/{credited.pk}/")
    assert response.status_code == 404


def test_the_deal_list_of_a_credited_rep_counts_the_deal_once(world_a, credited):
    with tenant_context(world_a.tenant):
        DealFactory(tenant=world_a.tenant, owner=world_a.rep1, name="Own deal")
    response = client_for(world_a.rep1.user).get("/alpha/pipeline/deals/?period=all")
    assert sorted(d.name for d in response.context["deals"]) == ["Own deal", "Shared win"]


def test_the_board_offers_a_credited_rep_the_deal_to_view_not_to_drag(world_a, credited):
    with tenant_context(world_a.tenant):
        own = DealFactory(tenant=world_a.tenant, owner=world_a.rep1, name="Own deal")
    response = client_for(world_a.rep1.user).get("/alpha/pipeline/", {"period": "all"})
    cards = {d.name: d.movable for c in response.context["columns"] for d in c.deals}
    assert cards == {"Own deal": True, "Shared win": False}
    html = response.content.decode()
    assert html.count('draggable="true"') == 1
    assert f'draggable="true"\n               data-deal-id="{own.pk}"' in html
    assert html.count('data-testid="read-only"') == 1
