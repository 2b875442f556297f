"""An equal three-way split of 100,000.00 through the API, the page and the
bulk sync: 33.33 each is an exact third, credited 33,333.34 + 33,333.33 +
33,333.33 (docs/formulas.md, crediting)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from pipeline.models import Deal, DealSplit
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db

THIRDS = [Decimal("33333.34"), Decimal("33333.33"), Decimal("33333.33")]


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def _credits(world, deal_id: int) -> list[tuple[int, Decimal, Decimal]]:
    with tenant_context(world.tenant):
        return list(
            DealSplit.objects.filter(deal_id=deal_id)
            .order_by("position")
            .values_list("member_id", "percent", "credited_amount")
        )


def test_an_equal_three_way_split_through_the_api(world_a):
    with tenant_context(world_a.tenant):
        stage = stage_named(world_a.tenant, "Closing")
    members = [world_a.rep1.pk, world_a.rep2.pk, world_a.other_rep.pk]

    response = api_client_for(world_a.admin.user).post(
        f"/api/v1/{world_a.tenant.slug}/deals/",
        {
            "name": "Shared",
            "owner": world_a.rep1.pk,
            "amount": "100000.00",
            "stage": stage.pk,
            "expected_close_date": "2027-03-31",
            "splits": [{"member": m, "percent": "33.33"} for m in members],
        },
    )

    assert response.status_code == 201, response.json()
    assert [s["credited_amount"] for s in response.json()["splits"]] == [
        "33333.34",
        "33333.33",
        "33333.33",
    ]
    assert _credits(world_a, response.json()["id"]) == [
        (m, Decimal("33.33"), c) for m, c in zip(members, THIRDS, strict=True)
    ]


def test_an_equal_three_way_split_through_the_deal_page_and_an_amount_change(world_a):
    with tenant_context(world_a.tenant):
        deal = DealFactory(
            tenant=world_a.tenant, owner=world_a.rep1, amount=Decimal("100000.00"), stage="Closing"
        )
    members = [world_a.rep1.pk, world_a.rep2.pk, world_a.other_rep.pk]
    form = {
        "name": deal.name,
        "owner": world_a.rep1.pk,
        "amount": "100000.00",
        "currency": "USD",
        "stage": deal.stage_id,
        "expected_close_date": "2027-03-31",
        "deal_type": "new_business",
        "splits-TOTAL_FORMS": "3",
        "splits-INITIAL_FORMS": "0",
        "splits-MIN_NUM_FORMS": "0",
        "splits-MAX_NUM_FORMS": "8",
    }
    for i, member in enumerate(members):
        form |= {f"splits-{i}-member": member, f"splits-{i}-percent": "33.33"}

    response = client_for(world_a.admin.user).post(f"/alpha/pipeline/deals/{deal.pk}/", form)

    assert response.status_code == 302
    assert [c for _m, _p, c in _credits(world_a, deal.pk)] == THIRDS
    # the split stays exact when the amount changes: 1,000.00 -> 333.34 + 333.33 + 333.33
    client_for(world_a.admin.user).post(
        f"/alpha/pipeline/deals/{deal.pk}/", form | {"amount": "1000.00"}
    )
    assert [c for _m, _p, c in _credits(world_a, deal.pk)] == [
        Decimal("333.34"),
        Decimal("333.33"),
        Decimal("333.33"),
    ]


def test_an_equal_split_through_the_bulk_sync(world_a):
    response = api_client_for(world_a.admin.user).post(
        "/api/v1/alpha/deals/bulk/",
        {
            "items": [
                {
                    "external_id": "EQ-1",
                    "name": "Shared",
                    "owner": "rep1@alpha.test",
                    "amount": "100000.00",
                    "stage": "Closing",
                    "expected_close_date": "2027-03-31",
                    "splits": "rep1@alpha.test:33.33; rep2@alpha.test:33.33; rep3@alpha.test:33.33",
                }
            ]
        },
    )

    assert response.status_code == 200, response.json()
    with tenant_context(world_a.tenant):
        deal = Deal.objects.get(external_id="EQ-1")
    assert [c for _m, _p, c in _credits(world_a, deal.pk)] == THIRDS


def test_unequal_shares_that_miss_100_are_still_refused(world_a):
    with tenant_context(world_a.tenant):
        stage = stage_named(world_a.tenant, "Closing")

    response = api_client_for(world_a.admin.user).post(
        "/api/v1/alpha/deals/",
        {
            "name": "Shared",
            "amount": "100000.00",
            "stage": stage.pk,
            "expected_close_date": "2027-03-31",
            "splits": [
                {"member": world_a.rep1.pk, "percent": "33.33"},
                {"member": world_a.rep2.pk, "percent": "33.33"},
                {"member": world_a.other_rep.pk, "percent": "33.32"},
            ],
        },
    )

    assert response.json()["errors"] == [
        {
            "field": "splits",
            "message": "Split percentages must add up to exactly 100 (they add up to 99.98), "
            "or all be the equal share (33.33 each for 3).",
        }
    ]
