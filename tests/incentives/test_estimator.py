"""The rep's estimator: the engine's own run with what-if deals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incentives.models import Statement
from pipeline import services as pipeline_services
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.incentives.trust_helpers import JAN1, period, run_period, setup_plan, won
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db
D = Decimal
JAN31 = dt.date(2027, 1, 31)


@pytest.fixture
def world(world_a):
    with tenant_context(world_a.tenant):
        yield world_a


@pytest.fixture
def open_deal(world):
    """Rep1: 60,000.00 won on Jan 20 (credited by a January run), and an open
    10,000.00 deal expected on Jan 31."""
    setup_plan(world)
    won(world, "60000.00", dt.date(2027, 1, 20))
    run_period(world)
    return DealFactory(
        tenant=world.tenant,
        owner=world.rep1,
        name="Umbrella",
        amount=D("10000.00"),
        stage=stage_named(world.tenant, "Proposal and negotiation"),
        expected_close_date=JAN31,
    )


def test_the_estimate_and_the_run_agree_to_the_cent(world, open_deal):
    jan = period(world.tenant, "month", JAN1)
    rep = api_client_for(world.rep1.user)
    response = rep.get(
        "/api/v1/alpha/statements/estimate/",
        {"period": jan.pk, "deals": str(open_deal.pk), "amount": "1234.56"},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    # 50,000 x 2% + (10,000 + 10,000 + 1,234.56) x 8% = 1,000 + 1,698.76
    assert {k: body[k] for k in body if k != "lines"} == {
        "period": jan.pk,
        "has_plan": True,
        "commission": "2698.76",
        "bookings": "71234.56",
        "quota": "100000.00",
        "attainment": "71.23",
        "band": "50-100%",
        "rate": "8.0000",
        "accelerator_at": "100.00",
        "to_accelerator": "28765.44",
    }
    only_deal = rep.get(
        "/api/v1/alpha/statements/estimate/", {"period": jan.pk, "deals": str(open_deal.pk)}
    ).json()
    pipeline_services.deal_move(
        world.tenant,
        deal=open_deal,
        stage=stage_named(world.tenant, "Closed won"),
        actor=world.rep1,
        close_date=JAN31,
    )
    statement = Statement.objects.get(run=run_period(world), membership=world.rep1)
    assert only_deal["commission"] == str(statement.total) == "2600.00"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "amount: Ensure this value is greater than or equal to 0."),
        ("ten", "amount: A valid number is required."),
    ],
)
def test_a_bad_amount_is_a_400_naming_the_field(world, open_deal, amount, message):
    jan = period(world.tenant, "month", JAN1)
    response = api_client_for(world.rep1.user).get(
        "/api/v1/alpha/statements/estimate/", {"period": jan.pk, "amount": amount}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == message


def test_someone_elses_deal_is_refused(world, open_deal):
    jan = period(world.tenant, "month", JAN1)
    response = api_client_for(world.rep2.user).get(
        "/api/v1/alpha/statements/estimate/", {"period": jan.pk, "deals": str(open_deal.pk)}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == f"deals: Not open deals of yours: {open_deal.pk}."


def test_the_estimator_page_says_what_is_left_to_the_accelerator(world, open_deal):
    jan = period(world.tenant, "month", JAN1)
    page = client_for(world.rep1.user).get(
        "/alpha/incentives/estimator/", {"period": jan.pk, "deals": [open_deal.pk]}
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "$2,600.00" in text
    assert "$30,000.00 more to reach the accelerator" in text
    bad = client_for(world.rep1.user).get(
        "/alpha/incentives/estimator/", {"period": jan.pk, "amount": "-1"}
    )
    assert bad.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in bad.content.decode()
