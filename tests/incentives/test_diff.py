"""What changed between two runs: words per change, effects that add up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from incentives.document import plan_document_validate
from incentives.engine import PeriodInputs, compute_period
from incentives.engine.diff import CATEGORIES, explain_changes
from incentives.engine.frames import empty_lines
from tests.incentives.helpers import MAR, Q1, YEAR, credits, members, quotas

D = Decimal
BANDS = [
    {"from": "0", "to": "50", "rate": "2"},
    {"from": "50", "to": "100", "rate": "8"},
    {"from": "100", "rate": "12"},
]


def _plan(rate_top: str = "12", cap: str | None = None):
    bands = [dict(b) for b in BANDS]
    bands[-1]["rate"] = rate_top
    component = {"key": "bookings", "measure": "credited_bookings", "rate_table": bands}
    if cap:
        component["cap"] = {"per_period": cap}
    return plan_document_validate(
        {
            "schema_version": 1,
            "name": "AE",
            "effective_from": "2027-01-01",
            "components": [component],
        }
    )


def _run(doc, deals, adjustments=()):
    rows = [(cid, member, amount, day) for cid, member, amount, day in deals]
    inputs = PeriodInputs(
        period=MAR,
        windows={"quarter": Q1, "month": MAR, "year": YEAR},
        members=members(1, 2),
        credits=credits(*rows),
        quotas=quotas(Q1, m1="100000.00", m2="50000.00"),
        posted=empty_lines(),
        adjustments=pd.DataFrame(
            list(adjustments), columns=["member_id", "adjustment_id", "amount", "reason"]
        ),
    )
    return compute_period(doc, inputs).lines


def _totals(lines):
    return {int(k): v for k, v in lines.groupby("member_id")["amount"].sum().items()}


def test_each_kind_of_change_in_words_with_its_money():
    jan = dt.date(2027, 1, 10)
    old = _run(_plan(), [(1, 1, "60000.00", jan), (2, 1, "10000.00", jan), (3, 1, "5000.00", jan)])
    new = _run(
        _plan(),
        [(1, 1, "60000.00", jan), (2, 1, "15000.00", jan), (4, 1, "30000.00", jan)],
        adjustments=[(1, 7, D("400.00"), "dispute #7 on Jan 2027: confirmed")],
    )
    changes = explain_changes(old, new, deal_names={2: "Acme renewal", 3: "Globex", 4: "Initech"})
    assert list(zip(changes["category"], changes["effect"], changes["text"], strict=True)) == [
        # deal 4: 25,000 at 8% (75k-100k) + 5,000 at 12% = 2,000 + 600
        ("deal added", D("2600.00"), "Initech added: credited 30,000.00 on 2027-01-10: +2,600.00"),
        # deal 3 was 5,000 at 8% = 400
        ("deal removed", D("-400.00"), "Globex removed (no longer won or credited): -400.00"),
        # deal 2: credited 10,000 at 8% = 800; now 15,000 at 8% = 1,200
        (
            "amount changed",
            D("400.00"),
            "Acme renewal: amount changed 10,000.00 -> 15,000.00: +400.00",
        ),
        (
            "adjustment",
            D("400.00"),
            "Manual adjustment: dispute #7 on Jan 2027: confirmed: +400.00",
        ),
    ]
    old_total, new_total = _totals(old)[1], _totals(new)[1]
    assert sum(changes["effect"], D("0")) == new_total - old_total == D("3000.00")


def test_a_rate_change_of_a_new_plan_version_is_named():
    jan = dt.date(2027, 1, 10)
    deals = [(1, 1, "130000.00", jan)]
    old = _run(_plan("12"), deals)
    new = _run(_plan("15"), deals)
    changes = explain_changes(old, new, versions=({1: "AE v1"}, {1: "AE v2"}))
    # 30,000 above quota: 12% -> 15%
    assert list(changes["text"]) == ["deal 1: plan version changed from AE v1 to AE v2: +900.00"]


deal = st.tuples(
    st.integers(1, 2),
    st.decimals(min_value=D("100"), max_value=D("80000"), places=2),
    st.integers(0, 80),
)


@settings(max_examples=40, deadline=None)
@given(
    base=st.lists(deal, min_size=0, max_size=8),
    added=st.lists(deal, min_size=0, max_size=3),
    dropped=st.sets(st.integers(0, 7), max_size=3),
    scaled=st.dictionaries(
        st.integers(0, 7), st.decimals(min_value=D("0.1"), max_value=D("3"), places=2), max_size=3
    ),
    moved_member=st.sets(st.integers(0, 7), max_size=2),
    rates=st.tuples(st.sampled_from(["12", "15"]), st.sampled_from(["12", "15"])),
    caps=st.tuples(st.sampled_from([None, "3000.00"]), st.sampled_from([None, "3000.00"])),
    adjustment=st.decimals(min_value=D("-500"), max_value=D("500"), places=2),
)
def test_changes_add_up_exactly_to_the_change_in_totals(
    base, added, dropped, scaled, moved_member, rates, caps, adjustment
):
    start = dt.date(2027, 1, 1)

    def row(i, member, amount, day):
        return (i, member, str(amount), start + dt.timedelta(days=day))

    old_deals = [row(i, *d) for i, d in enumerate(base)]
    new_deals = []
    for i, (member, amount, day) in enumerate(base):
        if i in dropped:
            continue
        amount = (amount * scaled.get(i, D("1"))).quantize(D("0.01"))
        member = 3 - member if i in moved_member else member
        credit_id = 100 + i if i in moved_member else i  # a re-split is a new credit
        new_deals.append((credit_id, member, str(amount), start + dt.timedelta(days=day)))
    new_deals += [row(50 + i, *d) for i, d in enumerate(added)]
    old = _run(_plan(rates[0], caps[0]), old_deals)
    adjustments = [(1, 1, adjustment, "manual")] if adjustment else []
    new = _run(_plan(rates[1], caps[1]), new_deals, adjustments)
    changes = explain_changes(old, new)
    old_totals, new_totals = _totals(old), _totals(new)
    for member in (1, 2):
        effects = changes.loc[changes["member_id"] == member, "effect"]
        assert sum(effects, D("0")) == new_totals.get(member, D("0")) - old_totals.get(
            member, D("0")
        )
    assert set(changes["category"]) <= set(CATEGORIES)
    assert all(
        text.endswith(f"{'+' if e >= 0 else '-'}{abs(e):,.2f}")
        for e, text in zip(changes["effect"], changes["text"], strict=True)
    )
