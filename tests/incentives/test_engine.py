"""The engine reproduces every worked example of docs/formulas.md sections 4-6."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from incentives.document import plan_document_validate
from incentives.engine import PeriodInputs, Window, compute_period
from incentives.engine.frames import empty_lines
from tests.incentives.helpers import APR, FEB, JAN, MAR, Q1, Q2, YEAR, credits, members, quotas

D = Decimal
BANDS = [
    {"from": "0", "to": "50", "rate": "2"},
    {"from": "50", "to": "100", "rate": "8"},
    {"from": "100", "to": "150", "rate": "12"},
    {"from": "150", "rate": "15"},
]


def plan(components=None, **extra):
    return plan_document_validate(
        {
            "schema_version": 1,
            "name": "AE",
            "effective_from": "2027-01-01",
            "components": components
            or [{"key": "bookings", "measure": "credited_bookings", **extra.pop("comp", {})}],
            **extra,
        }
    )


def bookings_plan(tiering="marginal", **comp):
    return plan(comp={"rate_table": BANDS, "tiering": tiering, **comp})


def run(doc, deals, *, period=MAR, quota="100000.00", posted=None, prior=None, **kw):
    windows = {"quarter": Q1 if period.start < Q2.start else Q2, "month": period, "year": YEAR}
    inputs = PeriodInputs(
        period=period,
        windows=windows,
        members=kw.pop("members", members(1)),
        credits=deals,
        quotas=pd.concat([quotas(Q1, m1=quota), quotas(Q2, m1=quota)], ignore_index=True),
        posted=posted if posted is not None else empty_lines(),
        prior_windows=prior or {},
        **kw,
    )
    return compute_period(doc, inputs)


def one_deal(amount, day=dt.date(2027, 3, 10)):
    return credits((1, 1, amount, day))


@pytest.mark.parametrize(
    ("bookings", "expected"),
    [
        ("130000.00", "8600.00"),
        ("40000.00", "800.00"),
        ("100000.00", "5000.00"),
        ("110000.00", "6200.00"),
        ("180000.00", "15500.00"),
    ],
)
def test_marginal_tiers(bookings, expected):
    result = run(bookings_plan(), one_deal(bookings))
    assert result.totals() == {1: D(expected)}


def test_marginal_lines_explain_each_band_slice():
    result = run(bookings_plan(), one_deal("130000.00"))
    assert list(result.lines["explanation"]) == [
        "D1: 50,000.00 x 2% in band 0-50%",
        "D1: 50,000.00 x 8% in band 50-100%",
        "D1: 30,000.00 x 12% in band 100-150%",
    ]
    assert list(result.lines["amount"]) == [D("1000.00"), D("4000.00"), D("3600.00")]
    assert list(result.lines["band"]) == [0, 1, 2]


@pytest.mark.parametrize(
    ("bookings", "expected"),
    [("130000.00", "15600.00"), ("100000.00", "12000.00"), ("40000.00", "800.00")],
)
def test_retroactive_tiers(bookings, expected):
    result = run(bookings_plan("retroactive"), one_deal(bookings))
    assert result.totals() == {1: D(expected)}


def test_retroactive_line_says_which_band_was_reached():
    result = run(bookings_plan("retroactive"), one_deal("130000.00"))
    assert list(result.lines["explanation"]) == [
        "D1: 130,000.00 x 12% (retroactive: band 100-150% reached at 130.00%)"
    ]


def test_gate_pays_nothing_below_it_and_explains_why():
    result = run(bookings_plan(gate="50"), one_deal("40000.00"))
    assert result.totals() == {1: D("0.00")}
    assert list(result.lines["explanation"]) == ["gate 50% not met: attainment 40.00% to date"]


def test_gate_only_decides_whether_anything_is_paid():
    result = run(bookings_plan(gate="50"), one_deal("130000.00"))
    assert result.totals() == {1: D("8600.00")}


def test_cap_under_it_marginal():
    result = run(bookings_plan(cap={"per_period": "10000.00"}), one_deal("130000.00"))
    assert result.totals() == {1: D("8600.00")}


def test_cap_applied_retroactive():
    result = run(
        bookings_plan("retroactive", cap={"per_period": "10000.00"}), one_deal("130000.00")
    )
    assert result.totals() == {1: D("10000.00")}
    cap = result.lines[result.lines["kind"] == "cap"]
    assert list(cap["amount"]) == [D("-5600.00")]
    assert list(cap["explanation"]) == ["cap 10,000.00 for Q1 2027 applied to 15,600.00"]


def test_yearly_cap_counts_earlier_windows():
    doc = bookings_plan(cap={"per_year": "20000.00"})
    first = run(doc, credits((1, 1, "180000.00", dt.date(2027, 3, 1))), period=MAR)
    assert first.totals() == {1: D("15500.00")}
    second = run(
        doc,
        credits((1, 1, "180000.00", dt.date(2027, 3, 1)), (2, 1, "100000.00", dt.date(2027, 4, 5))),
        period=APR,
        posted=first.lines,
    )
    assert second.totals() == {1: D("4500.00")}
    assert list(second.lines.loc[second.lines["kind"] == "cap", "explanation"]) == [
        "yearly cap 20,000.00 applied to 20,500.00 for the plan year to date"
    ]


def test_mbo_bonus_is_target_bonus_times_weighted_score():
    doc = plan([{"key": "mbo", "measure": "mbo_score", "target_bonus": "5000.00"}])
    objectives = pd.DataFrame(
        {
            "member_id": [1, 1, 1],
            "window": [Q1.key] * 3,
            "weight": [D("0.40"), D("0.35"), D("0.25")],
            "score": [D("1.00"), D("0.80"), D("0.50")],
        }
    )
    result = run(doc, credits(), objectives=objectives)
    assert result.totals() == {1: D("4025.00")}
    assert list(result.lines["explanation"]) == [
        "target bonus 5,000.00 x score 0.805 (40% x 100% + 35% x 80% + 25% x 50%)"
    ]


def test_spiff_pays_per_qualifying_deal_in_the_period_of_the_close():
    doc = plan(
        [
            {
                "key": "new_logo",
                "measure": "spiff",
                "period": "month",
                "spiff": {
                    "amount": "500.00",
                    "deal_type": "new_business",
                    "product_line": "Cloud",
                    "from": "2027-01-01",
                    "to": "2027-03-31",
                },
            }
        ]
    )
    deals = credits(
        (1, 1, "10000.00", dt.date(2027, 2, 3), "direct", "new_business", "Cloud"),
        (2, 1, "10000.00", dt.date(2027, 2, 9), "direct", "renewal", "Cloud"),
        (3, 1, "10000.00", dt.date(2027, 2, 20), "direct", "new_business", "Cloud"),
        (4, 1, "10000.00", dt.date(2027, 2, 21), "direct", "new_business", "On-prem"),
        (5, 1, "10000.00", dt.date(2027, 3, 2), "direct", "new_business", "Cloud"),
    )
    february = run(doc, deals, period=FEB)
    assert february.totals() == {1: D("1000.00")}
    assert list(february.lines["credit_id"]) == [1, 3]
    assert list(february.lines["explanation"])[0] == (
        "D1: SPIFF 500.00 per qualifying deal "
        "(new business, Cloud, closed 2027-01-01 to 2027-03-31)"
    )
    march = run(doc, deals, period=MAR, posted=february.lines)
    assert march.totals() == {1: D("500.00")}


def test_team_component_pays_on_team_attainment():
    doc = plan(
        [
            {
                "key": "team",
                "measure": "team_attainment",
                "basis": "target",
                "weight": "20",
                "rate_table": [
                    {"from": "0", "to": "100", "rate": "100"},
                    {"from": "100", "rate": "200"},
                ],
            }
        ]
    )
    attainment = pd.DataFrame({"member_id": [1], "window": [Q1.key], "attainment": [D("1.1")]})
    result = run(
        doc, credits(), members=members(1, target_incentive="50000.00"), team_attainment=attainment
    )
    # 20% of 50,000 = 10,000; 100 points x 100% + 10 points x 200% = 1.2 -> 12,000.00
    assert result.totals() == {1: D("12000.00")}
    assert list(result.lines["explanation"]) == [
        "team attainment 110.00%: 100.00 points x 100% of 10,000.00 in band 0-100%",
        "team attainment 110.00%: 10.00 points x 200% of 10,000.00 in band 100%+",
    ]


def test_cumulative_marginal_pays_the_difference_each_month():
    doc = bookings_plan()
    deals = credits(
        (1, 1, "60000.00", dt.date(2027, 1, 20)), (2, 1, "70000.00", dt.date(2027, 2, 10))
    )
    january = run(doc, deals, period=JAN)
    assert january.totals() == {1: D("1800.00")}
    february = run(doc, deals, period=FEB, posted=january.lines)
    assert february.totals() == {1: D("6800.00")}
    assert list(february.lines["explanation"]) == [
        "D2: 40,000.00 x 8% in band 50-100%",
        "D2: 30,000.00 x 12% in band 100-150%",
    ]


def test_cumulative_retroactive_brings_the_uplift_on_earlier_deals():
    doc = bookings_plan("retroactive")
    deals = credits(
        (1, 1, "60000.00", dt.date(2027, 1, 20)), (2, 1, "70000.00", dt.date(2027, 2, 10))
    )
    january = run(doc, deals, period=JAN)
    assert january.totals() == {1: D("4800.00")}
    february = run(doc, deals, period=FEB, posted=january.lines)
    assert february.totals() == {1: D("10800.00")}
    assert list(february.lines["amount"]) == [D("2400.00"), D("8400.00")]
    assert list(february.lines["explanation"])[0] == (
        "D1: 60,000.00 x 12% (retroactive: band 100-150% reached at 130.00%); "
        "to date 7,200.00 less 4,800.00 paid"
    )


def test_recoverable_draw_table():
    doc = plan(
        [
            {
                "key": "flat",
                "measure": "credited_bookings",
                "rate_table_on": "amount",
                "period": "month",
                "rate_table": [{"from": "0", "rate": "100"}],
            }
        ],
        draw={"amount": "2000.00", "recoverable": True},
    )
    months = [
        Window("month", dt.date(2027, m, 1), dt.date(2027, m, 28), f"M{m}") for m in range(1, 6)
    ]
    earned = ["500.00", "4000.00", "2500.00", "1200.00", "3100.00"]
    owed = D("0.00")
    rows = []
    for number, (month, amount) in enumerate(zip(months, earned, strict=True), start=1):
        deals = credits((number, 1, amount, month.start))
        inputs = PeriodInputs(
            period=month,
            windows={"month": month},
            members=members(1, owed=str(owed)),
            credits=deals,
        )
        result = compute_period(doc, inputs)
        owed = result.balances.set_index("member_id").loc[1, "owed"]
        recovered = -sum(result.lines.loc[result.lines["kind"] == "draw_recovery", "amount"], D(0))
        rows.append((result.totals()[1], recovered, owed))
    assert rows == [
        (D("2000.00"), D("0"), D("1500.00")),
        (D("2500.00"), D("1500.00"), D("0.00")),
        (D("2500.00"), D("0"), D("0.00")),
        (D("2000.00"), D("0"), D("800.00")),
        (D("2300.00"), D("800.00"), D("0.00")),
    ]


def test_non_recoverable_draw_pays_the_larger_and_owes_nothing():
    doc = plan(
        [
            {
                "key": "flat",
                "measure": "credited_bookings",
                "rate_table_on": "amount",
                "period": "month",
                "rate_table": [{"from": "0", "rate": "100"}],
            }
        ],
        draw={"amount": "2000.00", "recoverable": False},
    )
    inputs = PeriodInputs(
        period=JAN,
        windows={"month": JAN},
        members=members(1),
        credits=credits((1, 1, "500.00", JAN.start)),
    )
    result = compute_period(doc, inputs)
    assert result.totals() == {1: D("2000.00")}
    assert list(result.balances["owed"]) == [D("0.00")]
    assert list(result.lines["explanation"]) == [
        "D1: 500.00 x 100% in band 0.00+",
        "non-recoverable draw 2,000.00: earned 500.00, the draw pays 1,500.00",
    ]


def _q1_deals():
    return credits(
        (1, 1, "60000.00", dt.date(2027, 1, 20)),
        (2, 1, "50000.00", dt.date(2027, 2, 10)),
        (3, 1, "20000.00", dt.date(2027, 3, 5)),
    )


def test_clawback_reverse_and_recalculate():
    doc = bookings_plan(period="quarter", payout_frequency="quarter")
    q1 = run(doc, _q1_deals(), period=Q1)
    assert q1.totals() == {1: D("8600.00")}
    after_cancel = _q1_deals().iloc[[0, 1]]
    q2 = run(doc, after_cancel, period=Q2, posted=q1.lines, prior={"quarter": [Q1]})
    assert q2.totals() == {1: D("-2400.00")}
    assert list(q2.lines["kind"]) == ["adjustment"]
    assert list(q2.lines["explanation"]) == [
        "adjustment to Q1 2027: reversed: D3: 20,000.00 x 12% in band 100-150% (2,400.00 paid)"
    ]


def test_clawback_reverse_of_an_early_deal_shifts_later_slices():
    doc = bookings_plan(period="quarter", payout_frequency="quarter")
    q1 = run(doc, _q1_deals(), period=Q1)
    without_first = _q1_deals().iloc[[1, 2]]
    q2 = run(doc, without_first, period=Q2, posted=q1.lines, prior={"quarter": [Q1]})
    # Q1 on 70,000: 1,000 + 20,000 x 8% = 2,600; paid 8,600
    assert q2.totals() == {1: D("-6000.00")}
    assert sum(q2.lines["amount"], D(0)) == D("-6000.00")


def test_a_rerun_of_the_adjusted_period_adjusts_nothing_more():
    doc = bookings_plan(period="quarter", payout_frequency="quarter")
    q1 = run(doc, _q1_deals(), period=Q1)
    deals = _q1_deals().iloc[[0, 1]]
    q2 = run(doc, deals, period=Q2, posted=q1.lines, prior={"quarter": [Q1]})
    both = pd.concat([q1.lines, q2.lines], ignore_index=True)
    q3 = run(doc, deals, period=Q2, posted=both, prior={"quarter": [Q1]})
    assert q3.totals() == {}


def test_clawback_reclaim_at_the_original_rate_pro_rata():
    doc = plan(
        [
            {
                "key": "flat10",
                "measure": "credited_bookings",
                "rate_table_on": "amount",
                "period": "month",
                "rate_table": [{"from": "0", "rate": "10"}],
            }
        ],
        clawback={"policy": "reclaim", "pro_rata": True, "term_months": 12, "window_days": 365},
    )
    deal = credits((7, 1, "120000.00", dt.date(2027, 1, 15)))
    january = run(doc, deal, period=JAN)
    assert january.totals() == {1: D("12000.00")}
    april = run(doc, credits(), period=APR, posted=january.lines, prior={"month": [JAN]})
    assert april.totals() == {1: D("-9000.00")}
    assert list(april.lines["explanation"]) == [
        "clawback of a deal credited in Jan 2027, cancelled: 12,000.00 paid on it "
        "x 9/12 (cancelled after 3 of 12 months)"
    ]


def test_no_clawback_after_the_window():
    doc = plan(
        comp={"rate_table": BANDS, "period": "quarter", "payout_frequency": "quarter"},
        clawback={"policy": "reverse", "window_days": 30},
    )
    q1 = run(doc, _q1_deals(), period=Q1)
    q2 = run(doc, _q1_deals().iloc[[0, 1]], period=Q2, posted=q1.lines, prior={"quarter": [Q1]})
    assert q2.totals() == {}


def test_manual_adjustment_is_its_own_line():
    adjustments = pd.DataFrame(
        {
            "member_id": [1],
            "adjustment_id": [5],
            "amount": [D("-150.00")],
            "reason": ["duplicate expense"],
        }
    )
    result = run(bookings_plan(), one_deal("40000.00"), adjustments=adjustments)
    assert result.totals() == {1: D("650.00")}
    assert list(result.lines["explanation"])[-1] == "manual adjustment: duplicate expense"


def test_statement_without_a_quota_says_so():
    deals = credits((1, 2, "40000.00", dt.date(2027, 3, 3)))
    result = run(bookings_plan(), deals, members=members(1, 2))
    assert result.totals() == {2: D("0.00")}
    assert list(result.lines["explanation"]) == [
        "no quota for Q1 2027: attainment undefined, nothing paid"
    ]
