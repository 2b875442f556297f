from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pipeline import selectors
from pipeline.models import DealSplit
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db


def test_won_bookings_by_member_sums_split_credits_in_the_range(world_a, world_b, in_tenant_a):
    t = world_a.tenant
    DealFactory(
        tenant=t,
        owner=world_a.rep1,
        amount=Decimal("60000.00"),
        stage="Closed won",
        close_date=dt.date(2027, 1, 31),
        splits=[(world_a.rep1, Decimal("70")), (world_a.rep2, Decimal("30"))],
    )
    DealFactory(
        tenant=t,
        owner=world_a.rep1,
        amount=Decimal("100000.00"),
        stage="Closed won",
        close_date=dt.date(2027, 3, 31),
        splits=[
            (world_a.rep2, Decimal("33.33")),
            (world_a.rep1, Decimal("33.33")),
            (world_a.other_rep, Decimal("33.34")),
        ],
    )
    DealFactory(
        tenant=t,
        owner=world_a.rep2,
        amount=Decimal("5000.00"),
        stage="Post-sale",
        close_date=dt.date(2027, 1, 1),
    )
    # Outside the range, lost, or open: not bookings.
    DealFactory(
        tenant=t,
        owner=world_a.rep1,
        amount=Decimal("999.00"),
        stage="Closed won",
        close_date=dt.date(2026, 12, 31),
    )
    DealFactory(
        tenant=t,
        owner=world_a.rep1,
        amount=Decimal("777.00"),
        stage="Closed won",
        close_date=dt.date(2027, 4, 1),
    )
    DealFactory(
        tenant=t,
        owner=world_a.rep1,
        amount=Decimal("888.00"),
        stage="Closed lost",
        close_date=dt.date(2027, 2, 1),
    )
    DealFactory(tenant=t, owner=world_a.rep1, amount=Decimal("555.00"), stage="Closing")

    result = selectors.won_bookings_by_member(
        t, start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31)
    )

    assert result == {
        world_a.rep1.pk: Decimal("42000.00") + Decimal("33330.00"),
        world_a.rep2.pk: Decimal("18000.00") + Decimal("33330.00") + Decimal("5000.00"),
        world_a.other_rep.pk: Decimal("33340.00"),
    }


def test_won_bookings_by_member_is_one_query(world_a, in_tenant_a, django_assert_num_queries):
    DealFactory(
        tenant=world_a.tenant,
        owner=world_a.rep1,
        stage="Closed won",
        close_date=dt.date(2027, 1, 5),
    )
    with django_assert_num_queries(1):
        result = selectors.won_bookings_by_member(
            world_a.tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 31)
        )
    assert result == {world_a.rep1.pk: Decimal("10000.00")}


def test_won_bookings_by_member_ignores_other_tenants(world_a, world_b):
    from spm.tenancy.context import tenant_context

    with tenant_context(world_b.tenant):
        DealFactory(
            tenant=world_b.tenant,
            owner=world_b.rep1,
            stage="Closed won",
            close_date=dt.date(2027, 1, 5),
        )
    with tenant_context(world_a.tenant):
        assert (
            selectors.won_bookings_by_member(
                world_a.tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 31)
            )
            == {}
        )


def test_won_bookings_converts_foreign_currency_deals(world_a, in_tenant_a):
    DealFactory(
        tenant=world_a.tenant,
        owner=world_a.rep1,
        amount=Decimal("1000.00"),
        currency="EUR",
        exchange_rate=Decimal("1.085000"),
        stage="Closed won",
        close_date=dt.date(2027, 2, 1),
    )
    assert selectors.won_bookings_by_member(
        world_a.tenant, start=dt.date(2027, 2, 1), end=dt.date(2027, 2, 1)
    ) == {world_a.rep1.pk: Decimal("1085.00")}


def test_three_way_split_of_a_won_deal_stores_credits_that_add_up(world_a, in_tenant_a):
    deal = DealFactory(
        tenant=world_a.tenant,
        owner=world_a.rep1,
        amount=Decimal("100.01"),
        stage=stage_named(world_a.tenant, "Closed won"),
        close_date=dt.date(2027, 2, 1),
        splits=[
            (world_a.rep1, Decimal("33.33")),
            (world_a.rep2, Decimal("33.33")),
            (world_a.other_rep, Decimal("33.34")),
        ],
    )
    rows = list(
        DealSplit.objects.filter(deal=deal).values_list("member_id", "percent", "credited_amount")
    )
    # 33.3333, 33.3333, 33.3434 -> 33.33 + 33.33 + 33.34 = 100.00; residual 0.01 to the largest.
    assert rows == [
        (world_a.rep1.pk, Decimal("33.33"), Decimal("33.33")),
        (world_a.rep2.pk, Decimal("33.33"), Decimal("33.33")),
        (world_a.other_rep.pk, Decimal("33.34"), Decimal("33.35")),
    ]
