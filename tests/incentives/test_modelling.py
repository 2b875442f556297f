"""Plan modelling: a draft applied to a past quarter's credits for every
member on a plan, compared with the plan in force, worked out by hand; the
page and the endpoint per role, another tenant's version 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incentives import services
from incentives.modelling import plan_model
from incentives.models import CalcRun, Statement
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db
D = Decimal


def _plan(name, bands):
    return {
        "schema_version": 1,
        "name": name,
        "effective_from": "2027-01-01",
        "components": [
            {
                "key": "bookings",
                "measure": "credited_bookings",
                "period": "quarter",
                "payout_frequency": "quarter",
                "rate_table_on": "amount",
                "rate_table": bands,
            }
        ],
    }


# In force: 10% of every credited amount. Draft: 12% on the first 25,000.00 of
# the quarter, 6% above (marginal).
IN_FORCE = _plan("AE flat", [{"from": "0", "rate": "10"}])
DRAFT = _plan(
    "AE front-loaded",
    [{"from": "0", "to": "25000", "rate": "12"}, {"from": "25000", "rate": "6"}],
)


@pytest.fixture
def modelled(world_a):
    tenant = world_a.tenant
    with tenant_context(tenant):
        active = services.plan_version_create(
            tenant, source=IN_FORCE, actor=world_a.admin, status="active"
        )
        draft = services.plan_version_create(tenant, source=DRAFT, actor=world_a.admin)
        for rep in (world_a.rep1, world_a.rep2):
            services.assignment_create(
                tenant,
                membership=rep,
                version=active,
                start_date=dt.date(2027, 1, 1),
                end_date=None,
                target_incentive=D("0"),
                actor=world_a.admin,
            )
        won = stage_named(tenant, "Closed won")
        for owner, amount, day in (
            (world_a.rep1, "50000.00", dt.date(2027, 1, 20)),
            (world_a.rep2, "20000.00", dt.date(2027, 2, 10)),
            (world_a.rep2, "10000.00", dt.date(2027, 3, 5)),
        ):
            DealFactory(
                tenant=tenant,
                owner=owner,
                amount=D(amount),
                stage=won,
                expected_close_date=day,
                close_date=day,
            )
        services.credits_refresh(tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31))
        quarter = FiscalPeriod.objects.get(tenant=tenant, kind="quarter", start=dt.date(2027, 1, 1))
    return draft, quarter


def test_the_draft_is_applied_to_the_quarter_and_compared_by_hand(world_a, modelled):
    draft, quarter = modelled
    with tenant_context(world_a.tenant):
        model = plan_model(world_a.tenant, version=draft, period=quarter)
    # In force: rep1 50,000.00 x 10% = 5,000.00; rep2 30,000.00 x 10% = 3,000.00.
    # Draft: rep1 25,000.00 x 12% = 3,000.00 + 25,000.00 x 6% = 1,500.00 -> 4,500.00;
    # rep2 20,000.00 x 12% = 2,400.00, then 5,000.00 x 12% = 600.00 and
    # 5,000.00 x 6% = 300.00 -> 3,300.00.
    rows = model.members[["member_id", "bookings", "current", "modelled", "change"]]
    assert rows.to_dict("records") == [
        {
            "member_id": world_a.rep2.pk,
            "bookings": D("30000.00"),
            "current": D("3000.00"),
            "modelled": D("3300.00"),
            "change": D("300.00"),
        },
        {
            "member_id": world_a.rep1.pk,
            "bookings": D("50000.00"),
            "current": D("5000.00"),
            "modelled": D("4500.00"),
            "change": D("-500.00"),
        },
    ]
    assert (model.bookings, model.current, model.modelled, model.change) == (
        D("80000.00"),
        D("8000.00"),
        D("7800.00"),
        D("-200.00"),
    )
    # 8,000 / 80,000 = 10.00%; 7,800 / 80,000 = 9.75%.
    assert (model.current_share, model.modelled_share) == (D("10.00"), D("9.75"))
    assert list(model.gainers["member_id"]) == [world_a.rep2.pk]
    assert list(model.losers["member_id"]) == [world_a.rep1.pk]


def test_modelling_writes_nothing(world_a, modelled):
    draft, quarter = modelled
    with tenant_context(world_a.tenant):
        before = draft.document
        plan_model(world_a.tenant, version=draft, period=quarter)
        draft.refresh_from_db()
        assert (CalcRun.objects.count(), Statement.objects.count()) == (0, 0)
    assert draft.document == before


def test_the_api_answers_the_comparison_for_admins(in_tenant_a, world_a, modelled):
    draft, quarter = modelled
    client = client_for(world_a.admin.user)
    response = client.get(f"/api/v1/alpha/plan-models/{draft.pk}/?period={quarter.pk}")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("bookings", "current", "modelled", "change")} == {
        "bookings": "80000.00",
        "current": "8000.00",
        "modelled": "7800.00",
        "change": "-200.00",
    }
    assert (body["current_share"], body["modelled_share"]) == ("10.00", "9.75")
    assert [(m["member"], m["current"], m["modelled"], m["change"]) for m in body["members"]] == [
        (world_a.rep2.pk, "3000.00", "3300.00", "300.00"),
        (world_a.rep1.pk, "5000.00", "4500.00", "-500.00"),
    ]
    assert [m["member"] for m in body["gainers"]] == [world_a.rep2.pk]
    assert [m["member"] for m in body["losers"]] == [world_a.rep1.pk]


def test_the_api_names_a_missing_or_unknown_period(in_tenant_a, world_a, modelled):
    draft, _ = modelled
    client = client_for(world_a.admin.user)
    missing = client.get(f"/api/v1/alpha/plan-models/{draft.pk}/")
    assert (missing.status_code, missing.json()["errors"]) == (
        400,
        [{"field": "period", "message": "This field is required."}],
    )
    unknown = client.get(f"/api/v1/alpha/plan-models/{draft.pk}/?period=999999")
    assert (unknown.status_code, unknown.json()["errors"]) == (
        400,
        [{"field": "period", "message": "No such period."}],
    )


@pytest.mark.parametrize("role", ["finance", "manager", "rep1"])
def test_only_admins_model_plans(in_tenant_a, world_a, modelled, role):
    draft, quarter = modelled
    client = client_for(getattr(world_a, role).user)
    api = client.get(f"/api/v1/alpha/plan-models/{draft.pk}/?period={quarter.pk}")
    page = client.get(f"/alpha/incentives/versions/{draft.pk}/model/?period={quarter.pk}")
    assert (api.status_code, page.status_code) == (403, 403)


def test_another_tenants_version_is_404(world_a, world_b, modelled):
    _, quarter = modelled
    with tenant_context(world_b.tenant):
        theirs = services.plan_version_create(world_b.tenant, source=DRAFT, actor=world_b.admin)
    client = client_for(world_a.admin.user)
    api = client.get(f"/api/v1/alpha/plan-models/{theirs.pk}/?period={quarter.pk}")
    page = client.get(f"/alpha/incentives/versions/{theirs.pk}/model/?period={quarter.pk}")
    assert (api.status_code, page.status_code) == (404, 404)


def test_the_page_shows_totals_charts_and_who_gains_or_loses(
    in_tenant_a, world_a, modelled, django_assert_max_num_queries
):
    draft, quarter = modelled
    client = client_for(world_a.admin.user)
    url = f"/alpha/incentives/versions/{draft.pk}/model/?period={quarter.pk}"
    client.get(url)  # the session and caches warm
    with django_assert_max_num_queries(30):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<td class="num" data-testid="model-current">$8,000.00</td>' in html
    assert '<td class="num" data-testid="model-modelled">$7,800.00</td>' in html
    assert '<td class="num" data-testid="model-change">-$200.00</td>' in html
    histogram, change = response.context["charts"]
    assert [t["name"] for t in histogram["figure"]["data"]] == ["In force", "Draft"]
    assert change["figure"]["data"][0]["y"] == [300.0, -500.0]
    assert [r["member_id"] for r in response.context["gainers"]] == [world_a.rep2.pk]
    assert [r["member_id"] for r in response.context["losers"]] == [world_a.rep1.pk]


def test_the_page_without_a_period_asks_for_one(in_tenant_a, world_a, modelled):
    draft, _ = modelled
    client = client_for(world_a.admin.user)
    response = client.get(f"/alpha/incentives/versions/{draft.pk}/model/")
    assert response.status_code == 200
    assert response.context["model"] is None
    assert "Pick a past period" in response.content.decode()


def test_a_draft_measuring_the_year_reads_the_credits_from_the_year_start(world_a, modelled):
    # The plans in force measure quarters; a draft that measures the plan year
    # needs the first quarter's credits when it is modelled on the second.
    _, q1 = modelled
    tenant = world_a.tenant
    yearly = _plan("AE yearly", [{"from": "0", "rate": "5"}])
    yearly["components"][0]["period"] = "year"
    with tenant_context(tenant):
        draft = services.plan_version_create(tenant, source=yearly, actor=world_a.admin)
        day = dt.date(2027, 5, 5)
        DealFactory(
            tenant=tenant,
            owner=world_a.rep1,
            amount=D("10000.00"),
            stage=stage_named(tenant, "Closed won"),
            expected_close_date=day,
            close_date=day,
        )
        services.credits_refresh(tenant, start=q1.start, end=dt.date(2027, 6, 30))
        q2 = FiscalPeriod.objects.get(tenant=tenant, kind="quarter", start=dt.date(2027, 4, 1))
        model = plan_model(tenant, version=draft, period=q2)
    # In force, Q2 only: rep1 10,000.00 x 10% = 1,000.00; rep2 nothing.
    # Draft, the year to date (nothing paid before in a model): rep1
    # 60,000.00 x 5% = 3,000.00; rep2 30,000.00 x 5% = 1,500.00.
    rows = model.members[["member_id", "bookings", "current", "modelled"]]
    assert sorted(rows.to_dict("records"), key=lambda r: r["member_id"]) == sorted(
        [
            {
                "member_id": world_a.rep1.pk,
                "bookings": D("10000.00"),
                "current": D("1000.00"),
                "modelled": D("3000.00"),
            },
            {
                "member_id": world_a.rep2.pk,
                "bookings": D("0.00"),
                "current": D("0.00"),
                "modelled": D("1500.00"),
            },
        ],
        key=lambda r: r["member_id"],
    )
