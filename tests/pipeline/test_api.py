from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from pipeline.models import Account, Deal, DealSplit, Lead, Stage, StageChange
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, if_match
from tests.pipeline.factories import AccountFactory, DealFactory, LeadFactory, stage_named

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def url(world, path: str) -> str:
    return f"/api/v1/{world.tenant.slug}/{path}"


def make_deals(world):
    """rep1: two deals, rep2: one, other_rep (East): one."""
    with tenant_context(world.tenant):
        return {
            "r1a": DealFactory(
                tenant=world.tenant, owner=world.rep1, name="R1 A", amount=Decimal("1000.00")
            ),
            "r1b": DealFactory(
                tenant=world.tenant,
                owner=world.rep1,
                name="R1 B",
                stage="Closed won",
                amount=Decimal("2500.00"),
                close_date=dt.date(2027, 2, 1),
            ),
            "r2": DealFactory(
                tenant=world.tenant,
                owner=world.rep2,
                name="R2",
                amount=Decimal("300.00"),
                deal_type="renewal",
            ),
            "east": DealFactory(
                tenant=world.tenant, owner=world.other_rep, name="East", amount=Decimal("50.00")
            ),
        }


def names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


def test_rep_creates_a_deal_owned_by_themselves_with_history(world_a):
    with tenant_context(world_a.tenant):
        stage = stage_named(world_a.tenant, "Needs analysis")
    client = api_client_for(world_a.rep1.user)
    response = client.post(
        url(world_a, "deals/"),
        {
            "name": "Big one",
            "amount": "12000.00",
            "stage": stage.pk,
            "expected_close_date": "2027-03-31",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {
        k: body[k]
        for k in (
            "name",
            "owner",
            "amount",
            "currency",
            "base_amount",
            "probability",
            "forecast_category",
            "weighted_amount",
            "status",
            "close_date",
            "created_on",
        )
    } == {
        "name": "Big one",
        "owner": world_a.rep1.pk,
        "amount": "12000.00",
        "currency": "USD",
        "base_amount": "12000.00",
        "probability": "40.00",
        "forecast_category": "pipeline",
        "weighted_amount": "4800.00",
        "status": "open",
        "close_date": None,
        "created_on": "2027-02-15",
    }
    assert body["splits"] == [
        {"member": world_a.rep1.pk, "percent": "100.00", "credited_amount": "12000.00"}
    ]
    with tenant_context(world_a.tenant):
        assert list(
            StageChange.objects.values_list("from_stage", "to_stage", "source", "changed_by")
        ) == [
            (None, stage.pk, "api", world_a.rep1.pk),
        ]


def test_rep_cannot_give_a_deal_to_another_rep(world_a):
    with tenant_context(world_a.tenant):
        stage = stage_named(world_a.tenant, "Qualification")
    response = api_client_for(world_a.rep1.user).post(
        url(world_a, "deals/"),
        {
            "name": "Sneaky",
            "amount": "1.00",
            "stage": stage.pk,
            "expected_close_date": "2027-03-31",
            "owner": world_a.rep2.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "owner", "message": "A rep can only assign records to themselves."}
    ]
    with tenant_context(world_a.tenant):
        assert Deal.objects.count() == 0


def test_finance_reads_but_cannot_write(world_a):
    deals = make_deals(world_a)
    client = api_client_for(world_a.finance.user)
    assert sorted(names(client.get(url(world_a, "deals/")))) == ["East", "R1 A", "R1 B", "R2"]
    response = client.patch(url(world_a, f"deals/{deals['r1a'].pk}/"), {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "This action needs one of these roles: admin, manager, rep."
    with tenant_context(world_a.tenant):
        assert Deal.objects.get(pk=deals["r1a"].pk).name == "R1 A"


def test_deal_visibility_by_role(world_a):
    deals = make_deals(world_a)
    rep = api_client_for(world_a.rep1.user)
    assert names(rep.get(url(world_a, "deals/"))) == ["R1 A", "R1 B"]
    assert rep.get(url(world_a, f"deals/{deals['r2'].pk}/")).status_code == 404
    assert (
        rep.patch(
            url(world_a, f"deals/{deals['r2'].pk}/"), {"name": "mine"}, format="json"
        ).status_code
        == 404
    )
    # The top manager manages Sales (and so West and East); the East manager only East.
    manager = api_client_for(world_a.manager.user)
    assert sorted(names(manager.get(url(world_a, "deals/")))) == ["East", "R1 A", "R1 B", "R2"]
    east = api_client_for(world_a.other_manager.user)
    assert names(east.get(url(world_a, "deals/"))) == ["East"]
    assert east.get(url(world_a, f"deals/{deals['r2'].pk}/")).status_code == 404


def test_other_tenants_deals_are_404_and_never_listed(world_a, world_b):
    make_deals(world_a)
    b_deals = make_deals(world_b)
    admin = api_client_for(world_a.admin.user)
    assert sorted(names(admin.get(url(world_a, "deals/")))) == ["East", "R1 A", "R1 B", "R2"]
    for verb in ("get", "patch", "delete"):
        response = getattr(admin, verb)(
            url(world_a, f"deals/{b_deals['r1a'].pk}/"), {}, format="json"
        )
        assert response.status_code == 404
    assert (
        admin.post(url(world_a, f"deals/{b_deals['r1a'].pk}/move/"), {}, format="json").status_code
        == 404
    )
    with tenant_context(world_b.tenant):
        stage = stage_named(world_b.tenant, "Closing")
    # Another tenant's stage id is not a valid choice.
    own_url = url(world_a, f"deals/{make_deals(world_a)['r1a'].pk}/")
    response = admin.patch(own_url, {"stage": stage.pk}, format="json", **if_match(admin, own_url))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "stage", "message": f'Invalid pk "{stage.pk}" - object does not exist.'}
    ]


def test_patching_the_stage_and_moving_record_history_with_defaults(world_a):
    deals = make_deals(world_a)
    deal = deals["r1a"]
    with tenant_context(world_a.tenant):
        closing = stage_named(world_a.tenant, "Closing")
        lost = stage_named(world_a.tenant, "Closed lost")
    client = api_client_for(world_a.rep1.user)
    deal_url = url(world_a, f"deals/{deal.pk}/")
    response = client.patch(
        deal_url, {"stage": closing.pk}, format="json", **if_match(client, deal_url)
    )
    assert (
        response.status_code,
        response.json()["probability"],
        response.json()["forecast_category"],
    ) == (200, "80.00", "commit")
    response = client.post(
        url(world_a, f"deals/{deal.pk}/move/"),
        {"stage": lost.pk, "lost_reason": "Budget cut"},
        format="json",
    )
    assert response.status_code == 200
    assert {
        k: response.json()[k] for k in ("status", "close_date", "lost_reason", "probability")
    } == {
        "status": "lost",
        "close_date": "2027-02-15",
        "lost_reason": "Budget cut",
        "probability": "0.00",
    }
    history = client.get(url(world_a, f"deals/{deal.pk}/history/")).json()
    assert [
        (h["from_stage_name"], h["to_stage_name"], h["source"], h["changed_by"]) for h in history
    ] == [
        (None, "Qualification", "page", None),
        ("Qualification", "Closing", "api", world_a.rep1.pk),
        ("Closing", "Closed lost", "api", world_a.rep1.pk),
    ]


def test_splits_are_set_through_the_api_and_must_add_up_to_100(world_a):
    deal = make_deals(world_a)["r1b"]
    client = api_client_for(world_a.manager.user)
    deal_url = url(world_a, f"deals/{deal.pk}/")
    bad = client.patch(
        deal_url,
        {
            "splits": [
                {"member": world_a.rep1.pk, "percent": "70"},
                {"member": world_a.rep2.pk, "percent": "20"},
            ]
        },
        format="json",
        **if_match(client, deal_url),
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {
            "field": "splits",
            "message": "Split percentages must add up to exactly 100 (they add up to 90.00), "
            "or all be the equal share (50.00 each for 2).",
        }
    ]
    good = client.patch(
        deal_url,
        {
            "splits": [
                {"member": world_a.rep1.pk, "percent": "70"},
                {"member": world_a.rep2.pk, "percent": "30"},
            ]
        },
        format="json",
        **if_match(client, deal_url),
    )
    assert good.status_code == 200
    assert good.json()["splits"] == [
        {"member": world_a.rep1.pk, "percent": "70.00", "credited_amount": "1750.00"},
        {"member": world_a.rep2.pk, "percent": "30.00", "credited_amount": "750.00"},
    ]
    # Changing the amount recomputes the credits.
    again = client.patch(
        deal_url, {"amount": "1000.01"}, format="json", **if_match(client, deal_url)
    )
    assert again.json()["splits"] == [
        {"member": world_a.rep1.pk, "percent": "70.00", "credited_amount": "700.01"},
        {"member": world_a.rep2.pk, "percent": "30.00", "credited_amount": "300.00"},
    ]


def test_deal_filters(world_a):
    deals = make_deals(world_a)
    client = api_client_for(world_a.admin.user)
    assert names(client.get(url(world_a, "deals/"), {"status": "won"})) == ["R1 B"]
    assert sorted(names(client.get(url(world_a, "deals/"), {"owner": world_a.rep1.pk}))) == [
        "R1 A",
        "R1 B",
    ]
    assert sorted(names(client.get(url(world_a, "deals/"), {"team": world_a.team.pk}))) == [
        "R1 A",
        "R1 B",
        "R2",
    ]
    assert sorted(names(client.get(url(world_a, "deals/"), {"team": world_a.root_team.pk}))) == [
        "East",
        "R1 A",
        "R1 B",
        "R2",
    ]
    assert names(client.get(url(world_a, "deals/"), {"deal_type": "renewal"})) == ["R2"]
    assert names(
        client.get(
            url(world_a, "deals/"),
            {"close_date_after": "2027-02-01", "close_date_before": "2027-02-01"},
        )
    ) == ["R1 B"]
    assert names(client.get(url(world_a, "deals/"), {"stage": deals["r1b"].stage_id})) == ["R1 B"]
    assert (
        names(client.get(url(world_a, "deals/"), {"updated_since": "2027-02-16T00:00:00Z"})) == []
    )
    assert (
        len(names(client.get(url(world_a, "deals/"), {"updated_since": "2027-02-15T00:00:00Z"})))
        == 4
    )
    assert names(client.get(url(world_a, "deals/"), {"ordering": "-amount", "page_size": 1})) == [
        "R1 B"
    ]


def test_deal_list_query_count_does_not_grow_with_deals(world_a, django_assert_max_num_queries):
    make_deals(world_a)
    make_deals(world_a)
    client = api_client_for(world_a.admin.user)
    with django_assert_max_num_queries(12):
        response = client.get(url(world_a, "deals/"))
    assert response.json()["count"] == 8


def test_pipelines_stages_reorder_retire_and_delete(world_a):
    make_deals(world_a)
    client = api_client_for(world_a.admin.user)
    pipeline = client.get(url(world_a, "pipelines/")).json()["results"][0]
    assert [s["name"] for s in pipeline["stages"]] == [
        "Lead generation",
        "Qualification",
        "Needs analysis",
        "Proposal and negotiation",
        "Closing",
        "Closed won",
        "Closed lost",
        "Post-sale",
    ]
    ids = [s["id"] for s in pipeline["stages"]]
    response = client.post(
        url(world_a, f"pipelines/{pipeline['id']}/reorder/"),
        {"stages": [ids[1], ids[0], *ids[2:]]},
        format="json",
    )
    assert [s["name"] for s in response.json()["stages"]][:2] == [
        "Qualification",
        "Lead generation",
    ]
    deleting_used = client.delete(url(world_a, f"stages/{ids[1]}/"))
    assert deleting_used.status_code == 400
    assert deleting_used.json()["errors"] == [
        {"field": "stage", "message": "'Qualification' has deals; retire it instead."}
    ]
    retired = client.patch(
        url(world_a, f"stages/{ids[1]}/"), {"is_active": False, "name": "Qualify"}, format="json"
    )
    assert (retired.json()["is_active"], retired.json()["name"]) == (False, "Qualify")
    assert client.delete(url(world_a, f"stages/{ids[0]}/")).status_code == 204
    created = client.post(
        url(world_a, "stages/"),
        {
            "pipeline": pipeline["id"],
            "name": "Legal review",
            "probability": "70",
            "forecast_category": "commit",
        },
        format="json",
    )
    assert (created.status_code, created.json()["position"]) == (201, 9)
    rep = api_client_for(world_a.rep1.user)
    assert (
        rep.patch(url(world_a, f"stages/{ids[2]}/"), {"name": "x"}, format="json").status_code
        == 403
    )


def test_deal_cannot_enter_a_retired_stage(world_a):
    deal = make_deals(world_a)["r1a"]
    with tenant_context(world_a.tenant):
        closing = stage_named(world_a.tenant, "Closing")
        Stage.objects.filter(pk=closing.pk).update(is_active=False)
    response = api_client_for(world_a.rep1.user).post(
        url(world_a, f"deals/{deal.pk}/move/"), {"stage": closing.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "stage", "message": "'Closing' is retired; choose another stage."}
    ]


def test_bulk_upsert_is_idempotent_and_records_history(world_a):
    client = api_client_for(world_a.admin.user)
    items = [
        {
            "external_id": "SF-1",
            "name": "One",
            "owner": "rep1@alpha.test",
            "amount": "100.00",
            "stage": "Qualification",
            "expected_close_date": "2027-03-01",
            "account": "Initech",
        },
        {
            "external_id": "SF-2",
            "name": "Two",
            "owner": world_a.rep2.pk,
            "amount": "200.00",
            "stage": "Closed won",
            "expected_close_date": "2027-02-10",
            "splits": [
                {"member": "rep1@alpha.test", "percent": "50"},
                {"member": "rep2@alpha.test", "percent": "50"},
            ],
        },
    ]
    first = client.post(url(world_a, "deals/bulk/"), {"items": items}, format="json")
    assert first.json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "accounts_created": 1,
        "stage_changes": 2,
    }
    second = client.post(url(world_a, "deals/bulk/"), {"items": items}, format="json")
    assert second.json() == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "accounts_created": 0,
        "stage_changes": 0,
    }
    items[0]["stage"] = "Closing"
    third = client.post(url(world_a, "deals/bulk/"), {"items": items}, format="json")
    assert third.json() == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
        "accounts_created": 0,
        "stage_changes": 1,
    }
    with tenant_context(world_a.tenant):
        assert list(
            StageChange.objects.filter(deal__external_id="SF-1").values_list(
                "from_stage__name", "to_stage__name", "source"
            )
        ) == [(None, "Qualification", "sync"), ("Qualification", "Closing", "sync")]
        assert list(
            DealSplit.objects.filter(deal__external_id="SF-2").values_list(
                "credited_amount", flat=True
            )
        ) == [Decimal("100.00"), Decimal("100.00")]


def test_bulk_upsert_rejects_a_batch_with_an_invalid_item_whole(world_a):
    client = api_client_for(world_a.admin.user)
    items = [
        {
            "external_id": "SF-1",
            "name": "One",
            "owner": "rep1@alpha.test",
            "amount": "100.00",
            "stage": "Qualification",
            "expected_close_date": "2027-03-01",
        },
        {
            "external_id": "SF-2",
            "name": "Two",
            "owner": "rep1@alpha.test",
            "amount": 200.5,
            "stage": "Qualification",
            "expected_close_date": "2027-13-01",
            "color": "red",
        },
    ]
    response = client.post(url(world_a, "deals/bulk/"), {"items": items}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Invalid input",
        "status": 400,
        "detail": "1 of 2 items are invalid; nothing was written.",
        "errors": [
            {"field": "items[1].color", "message": "Unknown field.", "index": 1},
            {
                "field": "items[1].amount",
                "index": 1,
                "message": (
                    'Send the amount as a decimal string, e.g. "1200.50", not a JSON number.'
                ),
            },
            {
                "field": "items[1].expected_close_date",
                "index": 1,
                "message": "'2027-13-01' is not a date; use YYYY-MM-DD (or MM/DD/YYYY).",
            },
        ],
    }
    with tenant_context(world_a.tenant):
        assert Deal.objects.count() == 0


def test_bulk_upsert_is_for_admins(world_a):
    response = api_client_for(world_a.manager.user).post(
        url(world_a, "leads/bulk/"), {"items": []}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "This action needs one of these roles: admin."


def test_bulk_leads_accounts_and_activities(world_a):
    client = api_client_for(world_a.admin.user)
    accounts = client.post(
        url(world_a, "accounts/bulk/"),
        {
            "items": [
                {
                    "external_id": "A-1",
                    "name": "Initech",
                    "segment": "SMB",
                    "customer_since": "2026-01-01",
                },
            ]
        },
        format="json",
    )
    assert accounts.json()["created"] == 1
    leads = client.post(
        url(world_a, "leads/bulk/"),
        {
            "items": [
                {
                    "external_id": "L-1",
                    "name": "Ann",
                    "awareness_on": "2027-01-02",
                    "stage": "interest",
                },
            ]
        },
        format="json",
    )
    assert leads.json()["created"] == 1
    activities = client.post(
        url(world_a, "activities/bulk/"),
        {
            "items": [
                {
                    "external_id": "T-1",
                    "kind": "Call",
                    "occurred_on": "2027-02-01",
                    "member": "rep1@alpha.test",
                    "lead": "L-1",
                    "outcome": "Left voicemail",
                },
                {
                    "external_id": "T-2",
                    "kind": "demo",
                    "occurred_on": "2027-02-02",
                    "member": "rep1@alpha.test",
                    "account": "Initech",
                },
            ]
        },
        format="json",
    )
    assert activities.json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "accounts_created": 0,
        "stage_changes": 0,
    }
    rows = client.get(url(world_a, "activities/"), {"ordering": "occurred_on"}).json()["results"]
    assert [
        (r["external_id"], r["kind"], r["lead"] is not None, r["account"] is not None) for r in rows
    ] == [("T-1", "call", True, False), ("T-2", "demo", False, True)]


def test_lead_crud_and_aida_dates(world_a):
    client = api_client_for(world_a.rep1.user)
    created = client.post(
        url(world_a, "leads/"),
        {
            "name": "Ann",
            "awareness_on": "2027-01-02",
            "decision_on": "2027-02-01",
            "stage": "decision",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert {
        k: created.json()[k]
        for k in ("owner", "stage", "awareness_on", "interest_on", "decision_on", "action_on")
    } == {
        "owner": world_a.rep1.pk,
        "stage": "decision",
        "awareness_on": "2027-01-02",
        "interest_on": "2027-02-01",
        "decision_on": "2027-02-01",
        "action_on": None,
    }
    moved = client.patch(
        url(world_a, f"leads/{created.json()['id']}/"), {"stage": "action"}, format="json"
    )
    assert (moved.json()["stage"], moved.json()["action_on"]) == ("action", "2027-02-15")
    bad = client.patch(
        url(world_a, f"leads/{created.json()['id']}/"), {"interest_on": "2026-12-01"}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {
            "field": "interest_on",
            "message": "Interest (2026-12-01) cannot come before Awareness (2027-01-02).",
        }
    ]
    with tenant_context(world_a.tenant):
        other = LeadFactory(tenant=world_a.tenant, owner=world_a.rep2)
    assert client.get(url(world_a, f"leads/{other.pk}/")).status_code == 404
    assert [r["name"] for r in client.get(url(world_a, "leads/")).json()["results"]] == ["Ann"]
    with tenant_context(world_a.tenant):
        assert Lead.objects.count() == 2


def test_activity_needs_a_target_and_rep_sees_only_their_own(world_a):
    deal = make_deals(world_a)["r1a"]
    client = api_client_for(world_a.rep1.user)
    bad = client.post(
        url(world_a, "activities/"), {"kind": "call", "occurred_on": "2027-02-01"}, format="json"
    )
    assert bad.json()["errors"] == [
        {"field": "deal", "message": "Log the activity against a deal, a lead or an account."}
    ]
    good = client.post(
        url(world_a, "activities/"),
        {"kind": "call", "occurred_on": "2027-02-01", "deal": deal.pk, "outcome": "Connected"},
        format="json",
    )
    assert (good.status_code, good.json()["member"]) == (201, world_a.rep1.pk)
    other = api_client_for(world_a.rep2.user)
    assert other.get(url(world_a, f"activities/{good.json()['id']}/")).status_code == 404
    assert other.get(url(world_a, "activities/")).json()["count"] == 0


def test_accounts_are_shared_but_reps_change_only_their_own(world_a):
    with tenant_context(world_a.tenant):
        mine = AccountFactory(tenant=world_a.tenant, name="Mine", owner=world_a.rep1)
        theirs = AccountFactory(tenant=world_a.tenant, name="Theirs", owner=world_a.rep2)
    client = api_client_for(world_a.rep1.user)
    assert [r["name"] for r in client.get(url(world_a, "accounts/")).json()["results"]] == [
        "Mine",
        "Theirs",
    ]
    assert (
        client.patch(
            url(world_a, f"accounts/{mine.pk}/"), {"industry": "Retail"}, format="json"
        ).status_code
        == 200
    )
    # Everyone reads the account, so the refusal is a 403, and nothing changes.
    refused = client.patch(
        url(world_a, f"accounts/{theirs.pk}/"), {"industry": "Retail"}, format="json"
    )
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "You may read this record but not change it.",
    )
    with tenant_context(world_a.tenant):
        assert Account.objects.get(pk=theirs.pk).industry == "Software"
    churn = client.patch(
        url(world_a, f"accounts/{mine.pk}/"),
        {"customer_since": "2026-05-01", "churned_on": "2026-04-01"},
        format="json",
    )
    assert churn.json()["errors"] == [
        {"field": "churned_on", "message": "An account cannot churn before it became a customer."}
    ]
