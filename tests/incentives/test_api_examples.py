"""The worked examples of docs/formulas.md sections 2, 4, 5 and 6 through the
API (runs started, published and read over HTTP), with the choices the
engine makes where the rules leave one: payout currencies, clawbacks across
a plan year, reinstated credits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from goals import services as goals_services
from incentives.models import StatementLine
from pipeline import services as pipeline_services
from pipeline.models import Deal
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for
from tests.incentives.api_helpers import (
    FLAT_10,
    period,
    rep_statement,
    run_and_publish,
    run_period,
    setup_plan,
    url,
    won,
)
from tests.pipeline.factories import stage_named

pytestmark = pytest.mark.django_db
D = Decimal
JAN, FEB, APR, MAY = (dt.date(2027, m, 1) for m in (1, 2, 4, 5))
Q1, Q2, Q3 = (dt.date(2027, m, 1) for m in (1, 4, 7))
Q4_2026 = dt.date(2026, 10, 1)


def finance(world):
    return api_client_for(world.finance.user)


def credits(world, client, deal):
    rows = client.get(url(world, f"credits/?deal_id={deal.pk}")).json()["results"]
    return sorted((r["recipient"], r["role"], r["amount"]) for r in rows)


def move(world, deal, stage, **fields):
    with tenant_context(world.tenant):
        fresh = Deal.objects.get(tenant=world.tenant, pk=deal.pk)
        pipeline_services.deal_update(
            world.tenant, deal=fresh, actor=None, stage=stage_named(world.tenant, stage), **fields
        )


def totals(world, run):
    statements, lines = rep_statement(world, run["id"])
    return statements[0], lines


# Section 2: crediting.


def test_section_2_split_credits_and_one_overlay_per_manager(world_a):
    split = won(
        world_a,
        "60000.00",
        JAN.replace(day=20),
        splits=[(world_a.rep1, D("70")), (world_a.rep2, D("30"))],
    )
    three = won(
        world_a,
        "100000.00",
        JAN.replace(day=21),
        splits=[
            (world_a.rep1, D("33.33")),
            (world_a.rep2, D("33.33")),
            (world_a.other_rep, D("33.33")),
        ],
    )
    run_period(world_a, finance(world_a), "month", JAN)
    w = world_a
    assert credits(w, finance(w), split) == sorted(
        [
            (w.rep1.pk, "split", "42000.00"),
            (w.rep2.pk, "split", "18000.00"),
            (w.manager.pk, "overlay", "60000.00"),
        ]
    )
    assert credits(w, finance(w), three) == sorted(
        [
            (w.rep1.pk, "split", "33333.34"),
            (w.rep2.pk, "split", "33333.33"),
            (w.other_rep.pk, "split", "33333.33"),
            (w.manager.pk, "overlay", "100000.00"),
            (w.other_manager.pk, "overlay", "33333.33"),
        ]
    )
    rep = api_client_for(w.rep1.user)
    assert credits(w, rep, three) == [(w.rep1.pk, "split", "33333.34")]


# Section 4: the components not covered in test_api.py.


def test_section_4_retroactive_months_pay_the_uplift_in_month_two(world_a):
    setup_plan(world_a, tiering="retroactive")
    won(world_a, "60000.00", JAN.replace(day=20))
    won(world_a, "70000.00", FEB.replace(day=10))
    january = run_and_publish(world_a, "month", JAN)
    assert totals(world_a, january)[0]["total"] == "4800.00"
    february = run_period(world_a, finance(world_a), "month", FEB)
    assert totals(world_a, february)[0]["total"] == "10800.00"


def test_section_4_mbo_bonus(world_a):
    setup_plan(
        world_a,
        key="mbo",
        measure="mbo_score",
        target_bonus="5000.00",
        rate_table=None,
        period="quarter",
        payout_frequency="quarter",
    )
    with tenant_context(world_a.tenant):
        quarter = period(world_a, "quarter", Q1)
        objectives = [
            goals_services.objective_create(
                world_a.tenant,
                actor=world_a.manager,
                membership=world_a.rep1,
                period=quarter,
                title=title,
                weight=D(weight),
            )
            for title, weight in (("Pipeline", "0.40"), ("Renewals", "0.35"), ("Training", "0.25"))
        ]
        for objective, score in zip(objectives, ("1.00", "0.80", "0.50"), strict=True):
            goals_services.objective_score(
                world_a.tenant, actor=world_a.manager, objective=objective, score=D(score)
            )
    run = run_period(world_a, finance(world_a), "quarter", Q1)
    statement, lines = totals(world_a, run)
    assert statement["total"] == "4025.00"
    assert lines == [
        ("4025.00", "target bonus 5,000.00 x score 0.805 (40% x 100% + 35% x 80% + 25% x 50%)")
    ]


# Section 5: draws.


@pytest.mark.parametrize(
    ("recoverable", "paid", "owed"),
    [
        (
            True,
            ["2000.00", "2500.00", "2500.00", "2000.00", "2300.00"],
            ["1500.00", "0.00", "0.00", "800.00", "0.00"],
        ),
        (
            False,
            ["2000.00", "4000.00", "2500.00", "2000.00", "3100.00"],
            ["0.00", "0.00", "0.00", "0.00", "0.00"],
        ),
    ],
)
def test_section_5_draws_month_by_month(world_a, recoverable, paid, owed):
    setup_plan(
        world_a,
        extra={"draw": {"amount": "2000.00", "recoverable": recoverable}},
        period="month",
        **FLAT_10,
    )
    earned = ["5000.00", "40000.00", "25000.00", "12000.00", "31000.00"]  # x 10%
    seen = []
    for month, bookings in enumerate(earned, start=1):
        start = dt.date(2027, month, 1)
        won(world_a, bookings, start.replace(day=15))
        statement, _ = totals(world_a, run_and_publish(world_a, "month", start))
        seen.append((statement["total"], statement["draw_owed"]))
    assert seen == list(zip(paid, owed, strict=True))


# Section 6: clawbacks and adjustments.


def test_section_6_reverse_and_recalculate_posts_the_difference_next_quarter(world_a):
    setup_plan(world_a, period="quarter", payout_frequency="quarter")
    won(world_a, "110000.00", Q1.replace(day=20))
    cancelled = won(world_a, "20000.00", Q1.replace(month=2, day=3))
    q1 = run_and_publish(world_a, "quarter", Q1)
    assert totals(world_a, q1)[0]["total"] == "8600.00"
    move(world_a, cancelled, "Closed lost")
    q2 = run_and_publish(world_a, "quarter", Q2)
    statement, lines = totals(world_a, q2)
    assert statement["total"] == "-2400.00"
    assert [amount for amount, _ in lines] == ["-2400.00"]
    assert lines[0][1].startswith("adjustment to FY2027 Q1: reversed: ")
    # Reinstated (won again on its close date): the same credit, paid back.
    move(world_a, cancelled, "Closed won", close_date=Q1.replace(month=2, day=3))
    q3 = run_period(world_a, finance(world_a), "quarter", Q3)
    assert totals(world_a, q3)[0]["total"] == "2400.00"


def test_section_6_reverse_across_the_plan_year(world_a):
    setup_plan(
        world_a,
        start="2026-10-01",
        quota_quarter=Q4_2026,
        period="quarter",
        payout_frequency="quarter",
    )
    won(world_a, "110000.00", Q4_2026.replace(day=20))
    cancelled = won(world_a, "20000.00", Q4_2026.replace(month=11, day=3))
    q4 = run_and_publish(world_a, "quarter", Q4_2026)
    assert totals(world_a, q4)[0]["total"] == "8600.00"
    move(world_a, cancelled, "Closed lost")
    q1 = run_period(world_a, finance(world_a), "quarter", Q1)
    statement, lines = totals(world_a, q1)
    assert statement["total"] == "-2400.00"
    assert lines[0][1].startswith("adjustment to FY2026 Q4: reversed: ")


@pytest.mark.parametrize(
    ("closed", "paid_in", "run_in", "label"),
    [
        (JAN.replace(day=15), JAN, APR, "FY2027 Q1"),
        (Q4_2026.replace(day=15), Q4_2026, JAN, "FY2026 Q4"),
    ],
)
def test_section_6_reclaim_at_the_original_rate_pro_rata(world_a, closed, paid_in, run_in, label):
    setup_plan(
        world_a,
        start="2026-10-01",
        extra={"clawback": {"policy": "reclaim", "pro_rata": True, "term_months": 12}},
        **FLAT_10,
    )
    deal = won(world_a, "120000.00", closed)
    paid = run_and_publish(world_a, "month", paid_in)
    assert totals(world_a, paid)[0]["total"] == "12000.00"
    move(world_a, deal, "Closed lost")
    reclaimed = run_and_publish(world_a, "month", run_in)
    statement, lines = totals(world_a, reclaimed)
    assert statement["total"] == "-9000.00"
    assert lines == [
        (
            "-9000.00",
            f"clawback of a deal credited in {label}, cancelled: 12,000.00 paid on it "
            "x 9/12 (cancelled after 3 of 12 months)",
        )
    ]
    # The deal is won again on its close date: the reclaim is paid back once.
    move(world_a, deal, "Closed won", close_date=closed)
    back = run_period(world_a, finance(world_a), "month", run_in.replace(month=run_in.month + 1))
    assert totals(world_a, back) == (
        totals(world_a, back)[0],
        [
            (
                "9000.00",
                f"deal credited in {label} reinstated: the clawback of 9,000.00 is paid back",
            )
        ],
    )
    assert totals(world_a, back)[0]["total"] == "9000.00"


def test_a_manual_adjustment_through_the_api(world_a):
    setup_plan(world_a, **FLAT_10)
    client = finance(world_a)
    created = client.post(
        url(world_a, "adjustments/"),
        {
            "membership": world_a.rep1.pk,
            "period": period(world_a, "month", JAN).pk,
            "amount": "-150.00",
            "reason": "Expense recovery",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    statement, lines = totals(world_a, run_period(world_a, client, "month", JAN))
    assert (statement["total"], lines) == (
        "-150.00",
        [("-150.00", "manual adjustment: Expense recovery")],
    )


# Currencies.


def eur_rate(world, month, rate):
    with tenant_context(world.tenant):
        return pipeline_services.exchange_rate_create(
            world.tenant,
            actor=world.admin,
            currency="EUR",
            period=period(world, "month", month),
            rate=D(rate),
        )


@pytest.mark.parametrize(("policy", "february"), [("keep", []), ("adjust", ["200.00"])])
def test_a_member_is_paid_in_their_currency_and_a_later_rate_only_adjusts(
    world_a, policy, february
):
    setup_plan(world_a, extra={"exchange_rate_changes": policy}, payout_currency="EUR", **FLAT_10)
    january_rate = eur_rate(world_a, JAN, "1.250000")
    eur_rate(world_a, FEB, "1.300000")
    won(world_a, "60000.00", JAN.replace(day=20))
    january = run_and_publish(world_a, "month", JAN)
    statement, lines = totals(world_a, january)
    assert (statement["currency"], statement["total"]) == ("EUR", "4800.00")
    assert lines[0][1].endswith("; 6,000.00 USD / 1.25 = 4,800.00 EUR")
    line = finance(world_a).get(url(world_a, f"statement-lines/?statement={statement['id']}"))
    assert [(r["base_amount"], r["fx_rate"], r["amount"]) for r in line.json()["results"]] == [
        ("6000.00", "1.250000", "4800.00")
    ]
    with tenant_context(world_a.tenant):
        pipeline_services.exchange_rate_update(
            world_a.tenant, exchange_rate=january_rate, actor=world_a.admin, rate=D("1.200000")
        )
    client = finance(world_a)
    feb = run_period(world_a, client, "month", FEB)
    _, lines = totals(world_a, feb)
    assert [amount for amount, _ in lines] == february
    again = run_period(world_a, client, "month", FEB)
    assert again["lines_written"] == 0
    with tenant_context(world_a.tenant):
        published = StatementLine.objects.get(tenant=world_a.tenant, period__start=JAN)
    assert (published.amount, published.fx_rate) == (D("4800.00"), D("1.250000"))


def test_a_missing_rate_fails_the_run_naming_currency_and_month(world_a):
    setup_plan(world_a, payout_currency="EUR", **FLAT_10)
    won(world_a, "60000.00", JAN.replace(day=20))
    run = run_period(world_a, finance(world_a), "month", JAN)
    assert (run["task_status"], run["lines_written"]) == ("failed", 0)
    assert "No exchange rate for EUR in January 2027" in run["task_message"]
