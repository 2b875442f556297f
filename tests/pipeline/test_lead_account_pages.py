from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from pipeline.models import Lead
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.pipeline.factories import AccountFactory, DealFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def data(world_a):
    t = world_a.tenant
    with tenant_context(t):
        acc1 = AccountFactory(tenant=t, name="Rep one account", owner=world_a.rep1)
        acc3 = AccountFactory(tenant=t, name="East account", owner=world_a.other_rep)
        deal = DealFactory(
            tenant=t, owner=world_a.rep1, name="R1 deal", account=acc1, amount=Decimal("500.00")
        )
        return {
            "acc1": acc1,
            "acc3": acc3,
            "deal": deal,
            "l1": LeadFactory(
                tenant=t, owner=world_a.rep1, name="Lead one", source="Web", account=acc1
            ),
            "l2": LeadFactory(tenant=t, owner=world_a.rep2, name="Lead two", source="Event"),
            "l3": LeadFactory(tenant=t, owner=world_a.other_rep, name="Lead east", source="Web"),
        }


def lead_names(response) -> list[str]:
    return sorted(lead.name for lead in response.context["leads"])


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("rep1", ["Lead one"]),
        ("manager", ["Lead east", "Lead one", "Lead two"]),
        ("admin", ["Lead east", "Lead one", "Lead two"]),
        ("finance", ["Lead east", "Lead one", "Lead two"]),
    ],
)
def test_lead_list_is_scoped_by_role(world_a, data, role, expected):
    response = client_for(getattr(world_a, role).user).get("/alpha/pipeline/leads/")
    assert response.status_code == 200
    assert lead_names(response) == expected


def test_lead_filters_and_export(world_a, data):
    client = client_for(world_a.admin.user)
    assert lead_names(client.get("/alpha/pipeline/leads/?source=Web")) == ["Lead east", "Lead one"]
    response = client.get(f"/alpha/pipeline/leads/?owner={world_a.rep2.pk}")
    assert lead_names(response) == ["Lead two"]
    export = client.get("/alpha/pipeline/leads/export.csv?source=Event")
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("Lead ID,Full name,Company")
    assert [line.split(",")[1] for line in lines[1:]] == ["Lead two"]


def test_lead_list_query_count_is_fixed(world_a, data, django_assert_max_num_queries):
    client = client_for(world_a.admin.user)
    with django_assert_max_num_queries(20):
        client.get("/alpha/pipeline/leads/")


def test_rep_advances_and_converts_their_lead(world_a, data):
    client = client_for(world_a.rep1.user)
    url = f"/alpha/pipeline/leads/{data['l1'].pk}/"
    assert client.post(url, {"action": "advance"}).status_code == 302
    assert client.post(url, {"action": "convert", "deal": data["deal"].pk}).status_code == 302
    with tenant_context(world_a.tenant):
        lead = Lead.objects.get(pk=data["l1"].pk)
    assert (lead.stage, lead.interest_on, lead.converted_deal_id) == (
        "action",
        dt.date(2027, 2, 15),
        data["deal"].pk,
    )


def test_lead_outside_scope_is_404_and_finance_is_read_only(world_a, world_b, data):
    rep = client_for(world_a.rep1.user)
    assert rep.get(f"/alpha/pipeline/leads/{data['l2'].pk}/").status_code == 404
    assert (
        rep.post(f"/alpha/pipeline/leads/{data['l3'].pk}/", {"action": "advance"}).status_code
        == 404
    )
    finance = client_for(world_a.finance.user)
    assert (
        finance.post(f"/alpha/pipeline/leads/{data['l1'].pk}/", {"action": "advance"}).status_code
        == 403
    )
    b_admin = client_for(world_b.admin.user)
    assert b_admin.get(f"/{world_b.tenant.slug}/pipeline/leads/{data['l1'].pk}/").status_code == 404
    with tenant_context(world_a.tenant):
        assert Lead.objects.get(pk=data["l1"].pk).stage == "awareness"
        assert Lead.objects.get(pk=data["l3"].pk).stage == "awareness"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("rep1", ["Rep one account"]),
        ("admin", ["East account", "Rep one account"]),
        ("finance", ["East account", "Rep one account"]),
    ],
)
def test_account_list_is_scoped_by_role(world_a, data, role, expected):
    response = client_for(getattr(world_a, role).user).get("/alpha/pipeline/accounts/")
    assert response.status_code == 200
    assert sorted(a.name for a in response.context["accounts"]) == expected


def test_account_detail_shows_its_deals_and_is_404_outside_scope(world_a, world_b, data):
    rep = client_for(world_a.rep1.user)
    response = rep.get(f"/alpha/pipeline/accounts/{data['acc1'].pk}/")
    assert [d.name for d in response.context["deals"]] == ["R1 deal"]
    assert rep.get(f"/alpha/pipeline/accounts/{data['acc3'].pk}/").status_code == 404
    b_admin = client_for(world_b.admin.user)
    url = f"/{world_b.tenant.slug}/pipeline/accounts/{data['acc1'].pk}/"
    assert b_admin.get(url).status_code == 404
