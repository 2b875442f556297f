from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from pipeline import sync
from pipeline.models import Account, Deal, DealSplit, ImportKind, Lead, StageChange
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def deal_rows(world):
    return [
        (
            2,
            {
                "external_id": "OPP-1",
                "name": "Acme renewal",
                "account": "Acme",
                "owner": "rep1@alpha.test",
                "amount": "$12,000.50",
                "stage": "Qualification",
                "expected_close_date": "03/31/2027",
            },
        ),
        (
            3,
            {
                "external_id": "OPP-2",
                "name": "Globex deal",
                "account": "Globex",
                "owner": "Rita Two",
                "amount": "5000",
                "stage": "Closed won",
                "expected_close_date": "2027-02-01",
                "splits": "rep1@alpha.test:60; rep2@alpha.test:40",
            },
        ),
    ]


def test_deal_batch_creates_deals_accounts_history_and_splits(world_a, in_tenant_a):
    result = sync.upsert(
        world_a.tenant, ImportKind.DEALS, deal_rows(world_a), actor=world_a.admin, via="import"
    )
    assert result.as_dict() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "accounts_created": 2,
        "stage_changes": 2,
    }
    deals = {d.external_id: d for d in Deal.objects.select_related("stage", "account")}
    one, two = deals["OPP-1"], deals["OPP-2"]
    assert (one.amount, one.base_amount, one.probability, one.status, one.close_date) == (
        Decimal("12000.50"),
        Decimal("12000.50"),
        Decimal("20.00"),
        "open",
        None,
    )
    assert (one.account.name, one.expected_close_date, one.created_on) == (
        "Acme",
        dt.date(2027, 3, 31),
        TODAY,
    )
    assert (two.status, two.close_date, two.owner_id, two.custom_splits) == (
        "won",
        dt.date(2027, 2, 1),
        world_a.rep2.pk,
        True,
    )
    assert list(
        DealSplit.objects.filter(deal=two).values_list("member_id", "percent", "credited_amount")
    ) == [
        (world_a.rep1.pk, Decimal("60.00"), Decimal("3000.00")),
        (world_a.rep2.pk, Decimal("40.00"), Decimal("2000.00")),
    ]
    assert list(DealSplit.objects.filter(deal=one).values_list("member_id", "credited_amount")) == [
        (world_a.rep1.pk, Decimal("12000.50")),
    ]
    assert sorted(
        StageChange.objects.values_list(
            "deal__external_id", "from_stage", "to_stage__name", "source", "changed_by"
        )
    ) == [
        ("OPP-1", None, "Qualification", "import", world_a.admin.pk),
        ("OPP-2", None, "Closed won", "import", world_a.admin.pk),
    ]


def test_same_batch_twice_changes_nothing_the_second_time(world_a, in_tenant_a):
    sync.upsert(world_a.tenant, ImportKind.DEALS, deal_rows(world_a), actor=world_a.admin)
    stamps = dict(Deal.objects.values_list("external_id", "updated_at"))
    result = sync.upsert(world_a.tenant, ImportKind.DEALS, deal_rows(world_a), actor=world_a.admin)
    assert result.as_dict() == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "skipped": 0,
        "accounts_created": 0,
        "stage_changes": 0,
    }
    assert dict(Deal.objects.values_list("external_id", "updated_at")) == stamps
    assert (
        Deal.objects.count(),
        Account.objects.count(),
        StageChange.objects.count(),
        DealSplit.objects.count(),
    ) == (2, 2, 2, 3)


def test_changed_stage_and_amount_update_history_and_credits(world_a, in_tenant_a):
    sync.upsert(
        world_a.tenant, ImportKind.DEALS, deal_rows(world_a), actor=world_a.admin, via="import"
    )
    rows = deal_rows(world_a)
    rows[0][1].update(stage="Closed won", amount="20000")
    result = sync.upsert(world_a.tenant, ImportKind.DEALS, rows, actor=None, via="sync")
    assert (result.created, result.updated, result.unchanged, result.stage_changes) == (0, 1, 1, 1)
    deal = Deal.objects.get(external_id="OPP-1")
    assert (deal.status, deal.close_date, deal.probability, deal.base_amount) == (
        "won",
        dt.date(2027, 3, 31),
        Decimal("100.00"),
        Decimal("20000.00"),
    )
    assert list(
        StageChange.objects.filter(deal=deal).values_list(
            "from_stage__name", "to_stage__name", "source"
        )
    ) == [
        (None, "Qualification", "import"),
        ("Qualification", "Closed won", "sync"),
    ]
    assert list(
        DealSplit.objects.filter(deal=deal).values_list("member_id", "credited_amount")
    ) == [
        (world_a.rep1.pk, Decimal("20000.00")),
    ]


def test_bad_rows_are_all_reported_and_nothing_is_written(world_a, in_tenant_a):
    rows = deal_rows(world_a) + [
        (
            4,
            {
                "external_id": "OPP-3",
                "name": "",
                "owner": "nobody@alpha.test",
                "amount": "12,5x",
                "stage": "Signed",
                "expected_close_date": "31/31/2027",
            },
        ),
        (
            5,
            {
                "external_id": "OPP-1",
                "name": "Dup",
                "owner": "rep1@alpha.test",
                "amount": "1",
                "stage": "Closing",
                "expected_close_date": "2027-03-01",
                "currency": "EUR",
                "splits": "rep1@alpha.test:60; rep2@alpha.test:30",
            },
        ),
    ]
    with pytest.raises(sync.BatchInvalid) as caught:
        sync.upsert(world_a.tenant, ImportKind.DEALS, rows, actor=world_a.admin)
    assert [e.as_dict() for e in caught.value.errors] == [
        {"row": 4, "field": "name", "message": "This field is required."},
        {
            "row": 4,
            "field": "owner",
            "message": "No member with email or name 'nobody@alpha.test' in this tenant.",
        },
        {"row": 4, "field": "amount", "message": "'12,5x' is not a valid amount."},
        {
            "row": 4,
            "field": "stage",
            "message": (
                "'Signed' is not a stage of 'New Business' (stages: Lead generation, "
                "Qualification, Needs analysis, Proposal and negotiation, Closing, "
                "Closed won, Closed lost, Post-sale)."
            ),
        },
        {
            "row": 4,
            "field": "expected_close_date",
            "message": "'31/31/2027' is not a date; use YYYY-MM-DD (or MM/DD/YYYY).",
        },
        {
            "row": 5,
            "field": "external_id",
            "message": "'OPP-1' appears twice in the batch (first at 2).",
        },
        {
            "row": 5,
            "field": "exchange_rate",
            "message": (
                "No exchange rate for EUR in March 2027: add it to the exchange-rate table "
                "or give the exchange rate (units of USD per EUR)."
            ),
        },
        {
            "row": 5,
            "field": "splits",
            "message": (
                "Split percentages must add up to exactly 100 (they add up to 90.00), "
                "or all be the equal share (50.00 each for 2)."
            ),
        },
    ]
    assert (Deal.objects.count(), Account.objects.count(), StageChange.objects.count()) == (0, 0, 0)


def test_lead_batch_completes_aida_dates_and_links_converted_deal(world_a, in_tenant_a):
    sync.upsert(world_a.tenant, ImportKind.DEALS, deal_rows(world_a), actor=world_a.admin)
    rows = [
        (
            2,
            {
                "external_id": "L-1",
                "name": "Ann Buyer",
                "email": "ANN@Acme.test",
                "stage": "Decision",
                "awareness_on": "2027-01-05",
                "decision_on": "2027-02-01",
                "owner": "rep1@alpha.test",
            },
        ),
        (
            3,
            {
                "external_id": "L-2",
                "name": "Bob",
                "converted_deal": "OPP-2",
                "awareness_on": "2027-01-10",
            },
        ),
    ]
    result = sync.upsert(world_a.tenant, ImportKind.LEADS, rows, actor=world_a.admin)
    assert (result.created, result.updated) == (2, 0)
    leads = {lead.external_id: lead for lead in Lead.objects.all()}
    assert (
        leads["L-1"].stage,
        leads["L-1"].email,
        leads["L-1"].interest_on,
        leads["L-1"].action_on,
    ) == ("decision", "ann@acme.test", dt.date(2027, 2, 1), None)
    assert (
        leads["L-2"].stage,
        leads["L-2"].action_on,
        leads["L-2"].converted_deal.external_id,
    ) == ("action", TODAY, "OPP-2")
    again = sync.upsert(world_a.tenant, ImportKind.LEADS, rows, actor=world_a.admin)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_lead_dates_out_of_order_name_the_field(world_a, in_tenant_a):
    rows = [
        (
            7,
            {
                "external_id": "L-9",
                "name": "X",
                "awareness_on": "2027-02-01",
                "interest_on": "2027-01-01",
            },
        )
    ]
    with pytest.raises(sync.BatchInvalid) as caught:
        sync.upsert(world_a.tenant, ImportKind.LEADS, rows, actor=None)
    assert [e.as_dict() for e in caught.value.errors] == [
        {
            "row": 7,
            "field": "interest_on",
            "message": "Interest (2027-01-01) cannot come before Awareness (2027-02-01).",
        },
    ]
