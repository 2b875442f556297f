"""The tenant's exchange-rate table and its use when deals in another currency
are saved without their own rate (docs/architecture.md, "Money")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipeline import services, sync
from pipeline.models import ChangeSource, Deal, ExchangeRate
from spm.models import AuditEvent, FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.pipeline.factories import stage_named

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def month(world, year: int, number: int) -> FiscalPeriod:
    return FiscalPeriod.objects.get(
        tenant=world.tenant, kind="month", start=dt.date(year, number, 1)
    )


@pytest.fixture
def rates(world_a):
    """EUR: 1.085000 in February 2027, 1.100000 in March 2027."""
    with tenant_context(world_a.tenant):
        feb = services.exchange_rate_create(
            world_a.tenant,
            actor=world_a.admin,
            currency="eur",
            period=month(world_a, 2027, 2),
            rate=Decimal("1.085000"),
        )
        mar = services.exchange_rate_create(
            world_a.tenant,
            actor=world_a.admin,
            currency="EUR",
            period=month(world_a, 2027, 3),
            rate=Decimal("1.100000"),
        )
    return {"feb": feb, "mar": mar}


def eur_deal(world, **kwargs):
    fields = {
        "name": "Euro deal",
        "owner": world.rep1,
        "amount": Decimal("10000.00"),
        "currency": "EUR",
        "stage": stage_named(world.tenant, "Qualification"),
        "expected_close_date": dt.date(2027, 2, 20),
    }
    fields.update(kwargs)
    return services.deal_create(world.tenant, actor=world.rep1, **fields)


def test_a_deal_without_a_rate_takes_the_rate_of_its_close_month(world_a, rates):
    with tenant_context(world_a.tenant):
        deal = eur_deal(world_a)
        deal.refresh_from_db()
    assert (deal.currency, deal.exchange_rate, deal.base_amount) == (
        "EUR",
        Decimal("1.085000"),
        Decimal("10850.00"),
    )


def test_a_given_rate_wins_over_the_table(world_a, rates):
    with tenant_context(world_a.tenant):
        deal = eur_deal(world_a, exchange_rate=Decimal("1.200000"))
    assert (deal.exchange_rate, deal.base_amount) == (Decimal("1.200000"), Decimal("12000.00"))


def test_moving_the_close_date_to_another_month_takes_that_months_rate(world_a, rates):
    with tenant_context(world_a.tenant):
        deal = eur_deal(world_a, amount=Decimal("3333.33"))
        services.deal_update(
            world_a.tenant,
            deal=deal,
            actor=world_a.rep1,
            expected_close_date=dt.date(2027, 3, 5),
        )
        deal.refresh_from_db()
    # 3,333.33 x 1.1 = 3,666.663 -> 3,666.66 (half-up to cents)
    assert (deal.exchange_rate, deal.base_amount) == (Decimal("1.100000"), Decimal("3666.66"))


def test_a_won_deal_takes_the_rate_of_its_close_date_month(world_a, rates):
    with tenant_context(world_a.tenant):
        deal = eur_deal(world_a, expected_close_date=dt.date(2027, 3, 20))
        assert deal.exchange_rate == Decimal("1.100000")
        services.deal_update(
            world_a.tenant,
            deal=deal,
            actor=world_a.rep1,
            stage=stage_named(world_a.tenant, "Closed won"),
            close_date=dt.date(2027, 2, 12),
        )
        deal.refresh_from_db()
    assert (deal.status, deal.close_date, deal.exchange_rate, deal.base_amount) == (
        "won",
        dt.date(2027, 2, 12),
        Decimal("1.085000"),
        Decimal("10850.00"),
    )


def test_a_missing_rate_names_the_field_the_currency_and_the_month(world_a, rates):
    with tenant_context(world_a.tenant), pytest.raises(ValidationError) as exc:
        eur_deal(world_a, expected_close_date=dt.date(2027, 4, 2))
    assert exc.value.message_dict == {
        "exchange_rate": [
            "No exchange rate for EUR in April 2027: add it to the exchange-rate table "
            "or give the exchange rate (units of USD per EUR)."
        ]
    }
    with tenant_context(world_a.tenant):
        assert Deal.objects.count() == 0


def test_rates_are_validated_and_audited(world_a, rates):
    with tenant_context(world_a.tenant):
        feb = month(world_a, 2027, 2)
        quarter = FiscalPeriod.objects.filter(tenant=world_a.tenant, kind="quarter").first()
        cases = [
            ({"currency": "EURO", "period": feb, "rate": Decimal("1")}, "currency"),
            ({"currency": "USD", "period": feb, "rate": Decimal("1")}, "currency"),
            ({"currency": "GBP", "period": quarter, "rate": Decimal("1")}, "period"),
            ({"currency": "GBP", "period": feb, "rate": Decimal("0")}, "rate"),
            ({"currency": "EUR", "period": feb, "rate": Decimal("1.2")}, "period"),
        ]
        raised = []
        for fields, _field in cases:
            try:
                services.exchange_rate_create(world_a.tenant, actor=world_a.admin, **fields)
            except ValidationError as exc:
                raised.append(sorted(exc.message_dict))
        assert raised == [[field] for _fields, field in cases]
        assert ExchangeRate.objects.count() == 2
        assert list(
            AuditEvent.objects.filter(action="exchange_rate.create")
            .order_by("id")
            .values_list("data", flat=True)
        ) == [
            {"currency": "EUR", "period": "Feb 2027", "rate": "1.085000"},
            {"currency": "EUR", "period": "Mar 2027", "rate": "1.100000"},
        ]


def test_bulk_sync_looks_rates_up_in_one_query(world_a, rates):
    items = [
        {
            "external_id": f"FX-{n}",
            "name": f"FX {n}",
            "owner": world_a.rep1.user.email,
            "amount": "10000.00",
            "currency": "EUR",
            "stage": "Qualification",
            "expected_close_date": close,
        }
        for n, close in enumerate(["2027-02-01", "2027-03-31", "2027-02-28"])
    ]
    client = api_client_for(world_a.admin.user)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/api/v1/{world_a.tenant.slug}/deals/bulk/", {"items": items}, format="json"
        )
    assert response.status_code == 200, response.json()
    rate_queries = [q for q in queries.captured_queries if "pipeline_exchangerate" in q["sql"]]
    assert len(rate_queries) == 1
    with tenant_context(world_a.tenant):
        rows = list(
            Deal.objects.order_by("external_id").values_list(
                "external_id", "exchange_rate", "base_amount"
            )
        )
    assert rows == [
        ("FX-0", Decimal("1.085000"), Decimal("10850.00")),
        ("FX-1", Decimal("1.100000"), Decimal("11000.00")),
        ("FX-2", Decimal("1.085000"), Decimal("10850.00")),
    ]


def test_bulk_sync_without_a_rate_for_the_month_rejects_the_batch(world_a, rates):
    item = {
        "external_id": "FX-9",
        "name": "FX 9",
        "owner": world_a.rep1.user.email,
        "amount": "10000.00",
        "currency": "EUR",
        "stage": "Qualification",
        "expected_close_date": "2027-05-03",
    }
    response = api_client_for(world_a.admin.user).post(
        f"/api/v1/{world_a.tenant.slug}/deals/bulk/", {"items": [item]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "items[0].exchange_rate",
            "index": 0,
            "message": "No exchange rate for EUR in May 2027: add it to the exchange-rate table "
            "or give the exchange rate (units of USD per EUR).",
        }
    ]
    with tenant_context(world_a.tenant):
        assert Deal.objects.count() == 0


def test_csv_import_uses_the_table(world_a, rates):

    rows = [
        (
            2,
            {
                "external_id": "CSV-1",
                "name": "Csv",
                "owner": world_a.rep2.user.email,
                "amount": "2,000.00",
                "currency": "EUR",
                "stage": "Closed won",
                "expected_close_date": "2027-03-15",
                "close_date": "2027-02-03",
            },
        )
    ]
    with tenant_context(world_a.tenant):
        sync.upsert(world_a.tenant, "deals", rows, actor=world_a.admin, via=ChangeSource.IMPORT)
        deal = Deal.objects.get(external_id="CSV-1")
    assert (deal.exchange_rate, deal.base_amount) == (Decimal("1.085000"), Decimal("2170.00"))


# API -----------------------------------------------------------------------------------


def test_admin_manages_rates_through_the_api(world_a, rates):
    client = api_client_for(world_a.admin.user)
    base = f"/api/v1/{world_a.tenant.slug}/exchange-rates/"
    with tenant_context(world_a.tenant):
        apr = month(world_a, 2027, 4)
    response = client.post(base, {"currency": "GBP", "period": apr.pk, "rate": "1.270500"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("currency", "period", "period_label", "rate")} == {
        "currency": "GBP",
        "period": apr.pk,
        "period_label": "Apr 2027",
        "rate": "1.270500",
    }
    response = client.patch(f"{base}{body['id']}/", {"rate": "1.3"}, format="json")
    assert (response.status_code, response.json()["rate"]) == (200, "1.300000")
    duplicate = client.post(
        base, {"currency": "EUR", "period": rates["feb"].period_id, "rate": "1.2"}
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == [
        {"field": "period", "message": "Feb 2027 already has a EUR rate; edit that one."}
    ]
    listing = client.get(base)
    assert [(r["currency"], r["period_label"], r["rate"]) for r in listing.json()["results"]] == [
        ("EUR", "Feb 2027", "1.085000"),
        ("EUR", "Mar 2027", "1.100000"),
        ("GBP", "Apr 2027", "1.300000"),
    ]
    assert client.delete(f"{base}{body['id']}/").status_code == 204
    with tenant_context(world_a.tenant):
        assert ExchangeRate.objects.count() == 2


@pytest.mark.parametrize("role", ["manager", "rep1", "finance"])
def test_only_admins_read_or_change_rates(world_a, rates, role):
    client = api_client_for(getattr(world_a, role).user)
    base = f"/api/v1/{world_a.tenant.slug}/exchange-rates/"
    assert client.get(base).status_code == 403
    response = client.patch(f"{base}{rates['feb'].pk}/", {"rate": "9"}, format="json")
    assert response.status_code == 403
    with tenant_context(world_a.tenant):
        assert ExchangeRate.objects.get(pk=rates["feb"].pk).rate == Decimal("1.085000")


def test_other_tenants_rates_and_months_are_out_of_reach(world_a, world_b, rates):
    client = api_client_for(world_b.admin.user)
    base = f"/api/v1/{world_b.tenant.slug}/exchange-rates/"
    assert client.get(f"{base}{rates['feb'].pk}/").status_code == 404
    assert client.get(base).json()["results"] == []
    response = client.post(
        base, {"currency": "EUR", "period": rates["feb"].period_id, "rate": "1.2"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "period"
    with tenant_context(world_b.tenant):
        assert ExchangeRate.objects.count() == 0


# Pages -----------------------------------------------------------------------------------


def test_admin_adds_and_edits_a_rate_on_the_page(world_a, rates):
    client = client_for(world_a.admin.user)
    page = client.get("/alpha/pipeline/stages/exchange-rates/")
    assert page.status_code == 200
    assert [(r.currency, r.period.label, r.rate) for r in page.context["rates"]] == [
        ("EUR", "Feb 2027", Decimal("1.085000")),
        ("EUR", "Mar 2027", Decimal("1.100000")),
    ]
    with tenant_context(world_a.tenant):
        feb = month(world_a, 2027, 2)
    bad = client.post(
        "/alpha/pipeline/stages/exchange-rates/",
        {"currency": "EUR", "period": feb.pk, "rate": "1.3"},
    )
    assert bad.status_code == 400
    assert bad.context["form"].errors == {
        "period": ["Feb 2027 already has a EUR rate; edit that one."]
    }
    assert b'<p class="field-error" role="alert">Feb 2027 already has a EUR rate' in bad.content
    edit = client.post(
        f"/alpha/pipeline/stages/exchange-rates/{rates['mar'].pk}/",
        {"currency": "EUR", "period": rates["mar"].period_id, "rate": "1.111111"},
    )
    assert edit.status_code == 302
    with tenant_context(world_a.tenant):
        assert ExchangeRate.objects.get(pk=rates["mar"].pk).rate == Decimal("1.111111")


def test_rate_pages_are_admin_only_and_tenant_scoped(world_a, world_b, rates):
    for role in ("manager", "rep1", "finance"):
        client = client_for(getattr(world_a, role).user)
        assert client.get("/alpha/pipeline/stages/exchange-rates/").status_code == 403
    b_admin = client_for(world_b.admin.user)
    url = f"/{world_b.tenant.slug}/pipeline/stages/exchange-rates/{rates['feb'].pk}/"
    assert b_admin.get(url).status_code == 404
    assert b_admin.post(url, {"action": "delete"}).status_code == 404
    with tenant_context(world_a.tenant):
        assert ExchangeRate.objects.count() == 2


def test_a_closed_month_refuses_every_rate_write(world_a, rates):
    with tenant_context(world_a.tenant):
        FiscalPeriod.objects.filter(pk=rates["feb"].period_id).update(is_closed=True)
        april = month(world_a, 2027, 4)
        writes = [
            lambda: services.exchange_rate_create(
                world_a.tenant,
                actor=world_a.admin,
                currency="GBP",
                period=month(world_a, 2027, 2),
                rate=Decimal("1.270000"),
            ),
            lambda: services.exchange_rate_update(
                world_a.tenant, exchange_rate=rates["feb"], actor=world_a.admin, rate=Decimal("2")
            ),
            lambda: services.exchange_rate_update(
                world_a.tenant, exchange_rate=rates["feb"], actor=world_a.admin, period=april
            ),
            lambda: services.exchange_rate_delete(
                world_a.tenant, exchange_rate=rates["feb"], actor=world_a.admin
            ),
        ]
        for write in writes:
            with pytest.raises(ValidationError) as caught:
                write()
            assert caught.value.message_dict == {
                "period": ["Feb 2027 is closed; its exchange rates cannot be changed."]
            }
        assert list(ExchangeRate.objects.values_list("currency", "rate").order_by("id")) == [
            ("EUR", Decimal("1.085000")),
            ("EUR", Decimal("1.100000")),
        ]
