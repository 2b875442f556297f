from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from pipeline.models import Deal, Lead, Stage, StageChange
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.pipeline.factories import DealFactory, LeadFactory, stage_named

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def deals(world_a):
    t = world_a.tenant
    with tenant_context(t):
        return {
            "a": DealFactory(
                tenant=t,
                owner=world_a.rep1,
                name="Alpha one",
                amount=Decimal("10000.00"),
                stage="Proposal and negotiation",
                expected_close_date=dt.date(2027, 3, 10),
            ),
            "b": DealFactory(
                tenant=t,
                owner=world_a.rep1,
                name="Alpha two",
                amount=Decimal("2500.50"),
                stage="Proposal and negotiation",
                expected_close_date=dt.date(2027, 2, 20),
            ),
            "c": DealFactory(
                tenant=t,
                owner=world_a.rep2,
                name="Rita deal",
                amount=Decimal("4000.00"),
                stage="Closing",
                expected_close_date=dt.date(2027, 1, 20),
                deal_type="renewal",
            ),
            "later": DealFactory(
                tenant=t,
                owner=world_a.rep1,
                name="Next quarter",
                amount=Decimal("999.00"),
                stage="Qualification",
                expected_close_date=dt.date(2027, 5, 1),
            ),
        }


def column(response, name):
    return next(c for c in response.context["columns"] if c.stage.name == name)


def test_board_columns_with_raw_and_weighted_totals_for_the_current_quarter(
    world_a, deals, django_assert_max_num_queries
):
    client = client_for(world_a.admin.user)
    with django_assert_max_num_queries(21):
        response = client.get("/alpha/pipeline/")
    assert response.status_code == 200
    assert [c.stage.name for c in response.context["columns"]] == [
        "Lead generation",
        "Qualification",
        "Needs analysis",
        "Proposal and negotiation",
        "Closing",
        "Closed won",
        "Closed lost",
        "Post-sale",
    ]
    proposal = column(response, "Proposal and negotiation")
    assert (
        [d.name for d in proposal.deals],
        proposal.count,
        proposal.total,
        proposal.weighted,
    ) == (["Alpha two", "Alpha one"], 2, Decimal("12500.50"), Decimal("7500.30"))
    closing = column(response, "Closing")
    assert (closing.total, closing.weighted) == (Decimal("4000.00"), Decimal("3200.00"))
    assert column(response, "Qualification").count == 0  # closes next quarter
    everything = client.get("/alpha/pipeline/", {"period": "all"})
    assert [d.name for d in column(everything, "Qualification").deals] == ["Next quarter"]
    html = response.content.decode()
    assert '<dd class="num" data-testid="total">$12,501</dd>' in html
    assert '<dd class="num" data-testid="weighted">$7,500</dd>' in html


def test_board_filters_by_owner_team_and_type(world_a, deals):
    client = client_for(world_a.admin.user)
    by_owner = client.get("/alpha/pipeline/", {"owner": world_a.rep2.pk})
    assert [c.count for c in by_owner.context["columns"]] == [0, 0, 0, 0, 1, 0, 0, 0]
    by_team = client.get("/alpha/pipeline/", {"team": world_a.other_team.pk})
    assert sum(c.count for c in by_team.context["columns"]) == 0
    by_type = client.get("/alpha/pipeline/", {"type": "renewal"})
    assert [d.name for c in by_type.context["columns"] for d in c.deals] == ["Rita deal"]


def test_rep_board_shows_only_their_deals(world_a, deals):
    response = client_for(world_a.rep2.user).get("/alpha/pipeline/")
    assert [d.name for c in response.context["columns"] for d in c.deals] == ["Rita deal"]


def test_dropping_a_card_moves_the_deal_and_records_it(world_a, deals):
    with tenant_context(world_a.tenant):
        won = stage_named(world_a.tenant, "Closed won")
    client = client_for(world_a.rep1.user)
    response = client.post(
        f"/alpha/pipeline/deals/{deals['a'].pk}/move/",
        {"stage": won.pk, "query": "period=all"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="board",
    )
    assert response.status_code == 200
    assert [d.name for d in column(response, "Closed won").deals] == ["Alpha one"]
    with tenant_context(world_a.tenant):
        deal = Deal.objects.get(pk=deals["a"].pk)
        assert (deal.status, deal.close_date) == ("won", dt.date(2027, 2, 15))
        assert list(
            StageChange.objects.filter(deal=deal).values_list(
                "to_stage__name", "source", "changed_by"
            )
        ) == [("Proposal and negotiation", "page", None), ("Closed won", "board", world_a.rep1.pk)]


def test_moving_someone_elses_deal_is_404_and_finance_cannot_move(world_a, world_b, deals):
    with tenant_context(world_a.tenant):
        won = stage_named(world_a.tenant, "Closed won")
    assert (
        client_for(world_a.rep2.user)
        .post(f"/alpha/pipeline/deals/{deals['a'].pk}/move/", {"stage": won.pk})
        .status_code
        == 404
    )
    assert (
        client_for(world_a.finance.user)
        .post(f"/alpha/pipeline/deals/{deals['a'].pk}/move/", {"stage": won.pk})
        .status_code
        == 403
    )
    assert (
        client_for(world_b.admin.user)
        .post(f"/alpha/pipeline/deals/{deals['a'].pk}/move/", {"stage": won.pk})
        .status_code
        == 404
    )
    with tenant_context(world_a.tenant):
        assert Deal.objects.get(pk=deals["a"].pk).stage.name == "Proposal and negotiation"


def test_deal_list_filters_sorts_and_pins_queries(world_a, deals, django_assert_max_num_queries):
    client = client_for(world_a.manager.user)
    with django_assert_max_num_queries(22):
        response = client.get("/alpha/pipeline/deals/", {"sort": "-amount"})
    assert [d.name for d in response.context["deals"]] == [
        "Alpha one",
        "Rita deal",
        "Alpha two",
        "Next quarter",
    ]
    filtered = client.get("/alpha/pipeline/deals/", {"q": "alpha", "sort": "close"})
    assert [d.name for d in filtered.context["deals"]] == ["Alpha two", "Alpha one"]
    rep = client_for(world_a.rep2.user).get("/alpha/pipeline/deals/")
    assert [d.name for d in rep.context["deals"]] == ["Rita deal"]


def test_deal_list_opens_on_open_deals_and_any_status_shows_all(world_a, deals):
    client = client_for(world_a.manager.user)
    with tenant_context(world_a.tenant):
        won = stage_named(world_a.tenant, "Closed won")
    client.post(f"/alpha/pipeline/deals/{deals['a'].pk}/move/", {"stage": won.pk})
    default = client.get("/alpha/pipeline/deals/", {"sort": "-amount"})
    assert [d.name for d in default.context["deals"]] == ["Rita deal", "Alpha two", "Next quarter"]
    every = client.get("/alpha/pipeline/deals/", {"sort": "-amount", "status": "all"})
    assert [d.name for d in every.context["deals"]] == [
        "Alpha one",
        "Rita deal",
        "Alpha two",
        "Next quarter",
    ]
    groups = [(label, [p.kind for p in ps][:1]) for label, ps in default.context["period_groups"]]
    assert groups == [("Quarters", ["quarter"]), ("Months", ["month"]), ("Years", ["year"])]
    quarters = default.context["period_groups"][0][1]
    assert [p.start for p in quarters] == sorted(p.start for p in quarters)


def test_deal_csv_export(world_a, deals):
    response = client_for(world_a.admin.user).get(
        "/alpha/pipeline/deals/export.csv", {"type": "renewal"}
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines == [
        "External id,Name,Account,Owner,Amount,Currency,Amount (tenant currency),Pipeline,Stage,"
        "Probability (%),Forecast category,Close date,Status,Actual close date,Lost reason,Type,"
        "Product line,Source,Created on",
        ",Rita deal,,rep2@alpha.test,4000.00,USD,4000.00,New Business,Closing,80.00,commit,"
        "2027-01-20,open,,,renewal,,,2027-02-15",
    ]


def test_deal_detail_timeline_and_edit_records_history(world_a, deals):
    client = client_for(world_a.rep1.user)
    deal = deals["a"]
    page = client.get(f"/alpha/pipeline/deals/{deal.pk}/")
    assert [c.to_stage.name for c in page.context["timeline"]] == ["Proposal and negotiation"]
    with tenant_context(world_a.tenant):
        closing = stage_named(world_a.tenant, "Closing")
    form = {
        "name": "Alpha one (renamed)",
        # Unchanged from the form's initial values: the new stage's defaults apply.
        "probability": "60.00",
        "forecast_category": "best_case",
        "owner": world_a.rep1.pk,
        "amount": "11000.00",
        "currency": "USD",
        "stage": closing.pk,
        "expected_close_date": "2027-03-10",
        "deal_type": "new_business",
        "splits-TOTAL_FORMS": "2",
        "splits-INITIAL_FORMS": "0",
        "splits-MIN_NUM_FORMS": "0",
        "splits-MAX_NUM_FORMS": "8",
        "splits-0-member": world_a.rep1.pk,
        "splits-0-percent": "60",
        "splits-1-member": world_a.rep2.pk,
        "splits-1-percent": "40",
    }
    response = client.post(f"/alpha/pipeline/deals/{deal.pk}/", form)
    assert response.status_code == 302
    page = client.get(f"/alpha/pipeline/deals/{deal.pk}/")
    assert [
        (c.from_stage.name if c.from_stage else None, c.to_stage.name, c.source)
        for c in page.context["timeline"]
    ] == [
        (None, "Proposal and negotiation", "page"),
        ("Proposal and negotiation", "Closing", "page"),
    ]
    assert [(s.member_id, s.credited_amount) for s in page.context["splits"]] == [
        (world_a.rep1.pk, Decimal("6600.00")),
        (world_a.rep2.pk, Decimal("4400.00")),
    ]
    assert (page.context["deal"].probability, page.context["deal"].forecast_category) == (
        Decimal("80.00"),
        "commit",
    )


def test_deal_detail_rejects_splits_that_do_not_add_up(world_a, deals):
    client = client_for(world_a.rep1.user)
    deal = deals["b"]
    form = {
        "name": deal.name,
        "owner": world_a.rep1.pk,
        "amount": "2500.50",
        "currency": "USD",
        "stage": deal.stage_id,
        "expected_close_date": "2027-02-20",
        "deal_type": "new_business",
        "splits-TOTAL_FORMS": "1",
        "splits-INITIAL_FORMS": "0",
        "splits-MIN_NUM_FORMS": "0",
        "splits-MAX_NUM_FORMS": "8",
        "splits-0-member": world_a.rep1.pk,
        "splits-0-percent": "90",
    }
    response = client.post(f"/alpha/pipeline/deals/{deal.pk}/", form)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Split percentages must add up to exactly 100 (they add up to 90.00)."
    ]


def test_deal_detail_of_another_rep_or_tenant_is_404(world_a, world_b, deals):
    assert (
        client_for(world_a.rep2.user).get(f"/alpha/pipeline/deals/{deals['a'].pk}/").status_code
        == 404
    )
    assert (
        client_for(world_b.admin.user).get(f"/alpha/pipeline/deals/{deals['a'].pk}/").status_code
        == 404
    )
    with tenant_context(world_b.tenant):
        b_deal = DealFactory(tenant=world_b.tenant, owner=world_b.rep1)
    assert (
        client_for(world_a.admin.user).get(f"/alpha/pipeline/deals/{b_deal.pk}/").status_code == 404
    )


def test_finance_reads_the_deal_without_forms(world_a, deals):
    response = client_for(world_a.finance.user).get(f"/alpha/pipeline/deals/{deals['a'].pk}/")
    assert (response.status_code, response.context["can_edit"], "form" in response.context) == (
        200,
        False,
        False,
    )
    assert (
        client_for(world_a.finance.user)
        .post(f"/alpha/pipeline/deals/{deals['a'].pk}/", {})
        .status_code
        == 403
    )


def test_logging_an_activity_on_a_deal(world_a, deals):
    client = client_for(world_a.rep1.user)
    response = client.post(
        f"/alpha/pipeline/deals/{deals['a'].pk}/activities/",
        {
            "kind": "demo",
            "occurred_on": "2027-02-14",
            "subject": "Product demo",
            "outcome": "Positive",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/alpha/pipeline/deals/{deals['a'].pk}/")
    assert [(a.kind, a.subject, a.member_id) for a in page.context["activities"]] == [
        ("demo", "Product demo", world_a.rep1.pk)
    ]


def test_funnel_counts_and_conversion_for_the_period(world_a):
    t = world_a.tenant
    with tenant_context(t):
        for stage, n in (("awareness", 5), ("interest", 3), ("decision", 1), ("action", 1)):
            for _ in range(n):
                LeadFactory(
                    tenant=t, owner=world_a.rep1, stage=stage, awareness_on=dt.date(2027, 1, 10)
                )
        LeadFactory(
            tenant=t, owner=world_a.rep1, stage="action", awareness_on=dt.date(2026, 12, 31)
        )
    response = client_for(world_a.manager.user).get("/alpha/pipeline/funnel/")
    steps = response.context["steps"]
    assert [(s.label, s.count, s.percent_from_previous, s.percent_from_top) for s in steps] == [
        ("Awareness", 10, None, Decimal("100.0")),
        ("Interest", 5, Decimal("50.0"), Decimal("50.0")),
        ("Decision", 2, Decimal("40.0"), Decimal("20.0")),
        ("Action", 1, Decimal("50.0"), Decimal("10.0")),
    ]
    assert response.context["figure"]["data"][0]["type"] == "funnel"
    assert response.context["figure"]["data"][0]["x"] == [10, 5, 2, 1]
    html = response.content.decode()
    assert "vendor/plotly/plotly.min.js" in html
    with tenant_context(t):
        assert Lead.objects.count() == 11


def test_stage_settings_rename_retire_and_refuse_deleting_a_used_stage(world_a, deals):
    client = client_for(world_a.admin.user)
    assert client.get("/alpha/pipeline/stages/").status_code == 200
    with tenant_context(world_a.tenant):
        closing = stage_named(world_a.tenant, "Closing")
        lead_gen = stage_named(world_a.tenant, "Lead generation")
    client.post(
        f"/alpha/pipeline/stages/{closing.pk}/",
        {
            "action": "save",
            f"s{closing.pk}-name": "Contracting",
            f"s{closing.pk}-probability": "85",
            f"s{closing.pk}-forecast_category": "commit",
        },
    )
    refused = client.post(
        f"/alpha/pipeline/stages/{closing.pk}/", {"action": "delete"}, follow=True
    )
    assert [str(m) for m in refused.context["messages"]] == [
        "Stage Contracting was saved.",
        "'Contracting' has deals; retire it instead.",
    ]
    client.post(f"/alpha/pipeline/stages/{closing.pk}/", {"action": "retire"})
    client.post(f"/alpha/pipeline/stages/{lead_gen.pk}/", {"action": "down"})
    client.post(f"/alpha/pipeline/stages/{lead_gen.pk}/", {"action": "delete"})
    with tenant_context(world_a.tenant):
        assert list(
            Stage.objects.filter(pipeline=closing.pipeline)
            .order_by("position")
            .values_list("name", "probability", "is_active")
        ) == [
            ("Qualification", Decimal("20.00"), True),
            ("Needs analysis", Decimal("40.00"), True),
            ("Proposal and negotiation", Decimal("60.00"), True),
            ("Contracting", Decimal("85.00"), False),
            ("Closed won", Decimal("100.00"), True),
            ("Closed lost", Decimal("0.00"), True),
            ("Post-sale", Decimal("100.00"), True),
        ]
    assert client_for(world_a.manager.user).get("/alpha/pipeline/stages/").status_code == 403


def test_new_deal_page_creates_a_deal_with_history(world_a):
    with tenant_context(world_a.tenant):
        stage = stage_named(world_a.tenant, "Qualification")
    response = client_for(world_a.rep1.user).post(
        "/alpha/pipeline/deals/new/",
        {
            "name": "Fresh",
            "owner": world_a.rep1.pk,
            "amount": "500",
            "currency": "USD",
            "stage": stage.pk,
            "expected_close_date": "2027-03-01",
            "deal_type": "new_business",
        },
    )
    with tenant_context(world_a.tenant):
        deal = Deal.objects.get()
        assert response["Location"] == f"/alpha/pipeline/deals/{deal.pk}/"
        assert list(StageChange.objects.values_list("to_stage__name", "source", "changed_by")) == [
            ("Qualification", "page", world_a.rep1.pk)
        ]
