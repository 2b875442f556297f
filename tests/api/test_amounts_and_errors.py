"""Money in the API (decimal strings only, -0.00 normalised, a deal amount
limit), external ids by case, and errors that name their field."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from goals.models import Quota
from pipeline.models import Deal
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, if_match
from tests.goals.factories import period
from tests.pipeline.factories import stage_named

pytestmark = pytest.mark.django_db

JSON_NUMBER = 'Send the amount as a decimal string, e.g. "1200.50", not a JSON number.'


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def _deal(world, **fields):
    with tenant_context(world.tenant):
        stage = stage_named(world.tenant, "Qualification")
    body = {
        "name": "Deal",
        "amount": "10.00",
        "stage": stage.pk,
        "expected_close_date": "2027-03-31",
    } | fields
    return api_client_for(world.admin.user).post("/api/v1/alpha/deals/", body)


def _quota(world, amount):
    with tenant_context(world.tenant):
        q1 = period(world.tenant, "quarter", 2027, 1)
    return api_client_for(world.admin.user).post(
        "/api/v1/alpha/quotas/", {"period": q1.pk, "membership": world.rep1.pk, "amount": amount}
    )


@pytest.mark.parametrize("amount", [1200.5, 1200, 1e3])
def test_json_numbers_are_refused_for_money_on_every_endpoint(world_a, amount):
    deal = _deal(world_a, amount=amount)
    quota = _quota(world_a, amount)
    bulk = api_client_for(world_a.admin.user).post(
        "/api/v1/alpha/deals/bulk/",
        {
            "items": [
                {
                    "external_id": "X-1",
                    "name": "Deal",
                    "owner": "rep1@alpha.test",
                    "amount": amount,
                    "stage": "Qualification",
                    "expected_close_date": "2027-03-31",
                }
            ]
        },
    )

    assert deal.json()["errors"] == [{"field": "amount", "message": JSON_NUMBER}]
    assert quota.json()["errors"] == [{"field": "amount", "message": JSON_NUMBER}]
    assert bulk.json()["errors"] == [
        {"field": "items[0].amount", "index": 0, "message": JSON_NUMBER}
    ]
    with tenant_context(world_a.tenant):
        assert (Deal.objects.count(), Quota.objects.count()) == (0, 0)


def test_minus_zero_is_stored_and_answered_as_zero(world_a):
    deal = _deal(world_a, amount="-0.00")
    quota = _quota(world_a, "-0.00")

    assert (deal.status_code, deal.json()["amount"]) == (201, "0.00")
    assert (quota.status_code, quota.json()["amount"]) == (201, "0.00")
    with tenant_context(world_a.tenant):
        assert str(Deal.objects.get().amount) == "0.00"


def test_a_deal_amount_is_at_most_999_999_999_999_99(world_a):
    ok = _deal(world_a, amount="999999999999.99")
    too_big = _deal(world_a, amount="1000000000000.00")

    assert ok.status_code == 201
    assert too_big.json()["errors"] == [
        {
            "field": "amount",
            "message": "Ensure this value is less than or equal to 999999999999.99.",
        }
    ]


def test_external_ids_differing_in_case_are_different_deals(world_a):
    first = _deal(world_a, external_id="SF-006A")
    second = _deal(world_a, external_id="sf-006a")
    again = _deal(world_a, external_id="SF-006A")

    assert (first.status_code, second.status_code) == (201, 201)
    assert again.status_code == 400
    assert [e["field"] for e in again.json()["errors"]] == ["external_id"]


def test_a_partial_patch_of_a_quota_needs_no_amount_and_names_fixed_fields(world_a):
    quota = _quota(world_a, "90000.00").json()
    client = api_client_for(world_a.admin.user)

    quota_url = f"/api/v1/alpha/quotas/{quota['id']}/"

    unchanged = client.patch(quota_url, {}, **if_match(client, quota_url))
    fixed = client.patch(quota_url, {"period": 1, "measure": "x"}, **if_match(client, quota_url))
    changed = client.patch(quota_url, {"amount": "95000.00"}, **if_match(client, quota_url))

    assert (unchanged.status_code, unchanged.json()["amount"]) == (200, "90000.00")
    assert fixed.json()["errors"] == [
        {"field": "measure", "message": "Only amount can change on a quota."},
        {"field": "period", "message": "Only amount can change on a quota."},
    ]
    assert (changed.status_code, changed.json()["amount"]) == (200, "95000.00")


def test_nested_row_errors_use_one_path_style(world_a):
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", 2027, 1)

    response = api_client_for(world_a.admin.user).post(
        "/api/v1/alpha/quotas/bulk/",
        {
            "rows": [
                {"period": q1.pk, "membership": world_a.rep1.pk, "amount": "1.00"},
                {"period": "x", "membership": world_a.rep1.pk, "amount": "abc"},
            ]
        },
    )

    assert sorted(e["field"] for e in response.json()["errors"]) == [
        "rows[1].amount",
        "rows[1].period",
    ]


def test_an_unknown_quota_measure_is_refused(world_a):
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", 2027, 1)

    response = api_client_for(world_a.admin.user).post(
        "/api/v1/alpha/quotas/",
        {"period": q1.pk, "membership": world_a.rep1.pk, "amount": "1.00", "measure": "bogus"},
    )

    assert response.json()["errors"] == [
        {"field": "measure", "message": '"bogus" is not a valid choice.'}
    ]


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [("deals/", "expected_close_date"), ("goals/", "due_date"), ("members/", "start_date")],
)
def test_a_well_formed_date_that_is_not_a_day_is_named_as_such(world_a, endpoint, field):
    """Model-derived and declared date fields alike: 2025-02-30 has the right
    format, so the answer says the date is not valid, as the query filters do."""
    response = api_client_for(world_a.admin.user).post(
        f"/api/v1/alpha/{endpoint}", {field: "2025-02-30"}
    )

    assert response.status_code == 400
    assert {"field": field, "message": "Enter a valid date."} in response.json()["errors"]


def test_a_date_of_the_wrong_shape_still_names_the_format(world_a):
    response = _deal(world_a, expected_close_date="30/02/2025")

    assert response.json()["errors"] == [
        {
            "field": "expected_close_date",
            "message": "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        }
    ]
