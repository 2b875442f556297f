"""Properties of the engine over generated deals (hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from incentives.document import plan_document_validate
from incentives.engine import PeriodInputs, compute_period
from incentives.engine.frames import empty_lines
from tests.incentives.helpers import FEB, JAN, MAR, Q1, YEAR, credits, members, quotas

PLAN = {
    "schema_version": 1,
    "name": "AE",
    "effective_from": "2027-01-01",
}
BANDS = [
    {"from": "0", "to": "50", "rate": "2"},
    {"from": "50", "to": "100", "rate": "8.5"},
    {"from": "100", "rate": "12.25"},
]

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("90000"), places=2)
deal_lists = st.lists(
    st.tuples(st.integers(1, 3), amounts, st.integers(0, 89)), min_size=1, max_size=12
)


def _plan(tiering: str, cap: str | None = None):
    component = {
        "key": "bookings",
        "measure": "credited_bookings",
        "rate_table": BANDS,
        "tiering": tiering,
    }
    if cap:
        component["cap"] = {"per_period": cap}
    return plan_document_validate({**PLAN, "components": [component]})


def _frames(deals):
    rows = [
        (i, member, str(amount), dt.date(2027, 1, 1) + dt.timedelta(days=day))
        for i, (member, amount, day) in enumerate(deals, start=1)
    ]
    return credits(*rows)


def _run(doc, frame, period, posted):
    inputs = PeriodInputs(
        period=period,
        windows={"quarter": Q1, "month": period, "year": YEAR},
        members=members(1, 2, 3),
        credits=frame,
        quotas=quotas(Q1, m1="100000.00", m2="75000.50", m3="33333.33"),
        posted=posted,
    )
    return compute_period(doc, inputs)


@settings(max_examples=20, deadline=None)
@given(
    deals=deal_lists,
    tiering=st.sampled_from(["marginal", "retroactive"]),
    cap=st.sampled_from([None, "4000.00"]),
)
def test_months_paid_as_differences_add_up_to_the_quarter_computed_at_once(deals, tiering, cap):
    doc = _plan(tiering, cap)
    frame = _frames(deals)
    posted = empty_lines()
    for month in (JAN, FEB, MAR):
        result = _run(doc, frame, month, posted)
        # a statement's total is the sum of its rounded lines
        assert sum(result.totals().values(), Decimal("0")) == sum(
            result.lines["amount"], Decimal("0")
        )
        posted = pd.concat([posted, result.lines], ignore_index=True)
    at_once = _run(doc, frame, MAR, empty_lines())
    paid = posted.groupby("member_id")["amount"].sum().to_dict()
    assert {k: v for k, v in paid.items() if v} == {k: v for k, v in at_once.totals().items() if v}


@settings(max_examples=20, deadline=None)
@given(deals=deal_lists, tiering=st.sampled_from(["marginal", "retroactive"]))
def test_a_rerun_after_publishing_pays_nothing_more(deals, tiering):
    doc = _plan(tiering)
    frame = _frames(deals)
    first = _run(doc, frame, MAR, empty_lines())
    again = _run(doc, frame, MAR, first.lines)
    assert list(again.lines.loc[again.lines["kind"] != "gate", "amount"]) == []


@settings(max_examples=20, deadline=None)
@given(deals=deal_lists)
def test_marginal_pays_no_more_than_retroactive(deals):
    frame = _frames(deals)
    marginal = _run(_plan("marginal"), frame, MAR, empty_lines()).totals()
    retro = _run(_plan("retroactive"), frame, MAR, empty_lines()).totals()
    assert all(marginal[m] <= retro[m] for m in marginal)
    assert set(marginal) == set(retro)


def _modelled_plan(tiering: str):
    bookings = {
        "key": "bookings",
        "measure": "credited_bookings",
        "period": "quarter",
        "payout_frequency": "quarter",
        "rate_table": BANDS,
        "tiering": tiering,
        "multipliers": [{"factor": "1.5", "deal_type": "renewal"}],
        "cap": {"per_period": "6000.00"},
    }
    spiff = {
        "key": "logo",
        "measure": "spiff",
        "period": "quarter",
        "payout_frequency": "quarter",
        "spiff": {"amount": "250.00", "deal_type": "new_business"},
    }
    return plan_document_validate({**PLAN, "components": [bookings, spiff]})


@settings(max_examples=40, deadline=None)
@given(
    deal_lists,
    st.lists(st.sampled_from(["new_business", "renewal"]), min_size=12, max_size=12),
    st.sampled_from(["marginal", "retroactive"]),
)
def test_summary_lines_add_up_to_the_detail_lines_per_member_and_kind(deals, types, tiering):
    frame = _frames(deals)
    frame["deal_type"] = types[: len(frame)]
    inputs = PeriodInputs(
        period=MAR,
        windows={"quarter": Q1, "month": MAR, "year": YEAR},
        members=members(1, 2, 3),
        credits=frame,
        quotas=quotas(Q1, m1="100000.00", m2="75000.50", m3="33333.33"),
    )
    doc = _modelled_plan(tiering)

    def sums(lines):
        grouped = lines.groupby(["member_id", "component", "kind"])["amount"].sum()
        return {key: value for key, value in grouped.items() if value != 0}

    detail = compute_period(doc, inputs).lines
    summary = compute_period(doc, inputs, detail=False).lines
    assert sums(summary) == sums(detail)
    assert len(summary) <= 3 * 3
