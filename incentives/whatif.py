"""What-if figures for the plan builder: a component's payout curve and a
preview on sample bookings.

Both go through ``incentives.engine.compute_period``, the function a
calculation run calls, on made-up members in one engine pass: the curve puts
one member at each attainment point (one deal of quota x attainment each),
the preview one member with the sample deals. Every measurement window is the
plan's first 90 days, as for golden examples (``incentives.engine.golden``),
so a period's figure is the whole sample. Nothing here reads the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from incentives.document import CURVE_MEASURES, Component, PlanDocument
from incentives.engine import CREDIT_COLUMNS, PeriodInputs, Window, compute_period
from spm.money import round_half_up

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
# Points of a curve between 0 and its right end, besides the band edges.
CURVE_STEPS = 30
# Just below a band edge, so that a retroactive table's jump is drawn as one.
EDGE_GAP = Decimal("0.01")


@dataclass(frozen=True)
class SampleDeal:
    amount: Decimal
    date: dt.date | None = None
    deal_type: str = "new_business"
    product_line: str = ""


@dataclass(frozen=True)
class Curve:
    """A component's payout (y) against attainment in percent or booked amount (x)."""

    component: Component
    x_label: str
    points: list[tuple[Decimal, Decimal]]


@dataclass(frozen=True)
class Preview:
    lines: list[dict[str, object]]
    total: Decimal


def sample_window(plan: PlanDocument) -> Window:
    start = plan.effective_from
    return Window("sample", start, start + dt.timedelta(days=89), "the sample quarter")


def _inputs(
    plan: PlanDocument,
    *,
    member_ids: Sequence[int],
    deals: Sequence[tuple[int, SampleDeal]],
    quota: Decimal | None,
    target_incentive: Decimal,
    attainment: dict[int, Decimal] | None = None,
    kpi: str | None = None,
    mbo_score: Decimal | None = None,
) -> PeriodInputs:
    window = sample_window(plan)
    credits = pd.DataFrame(
        [
            {
                "credit_id": i,
                "deal_id": i,
                "deal_name": f"sample deal {i}",
                "member_id": member,
                "role": "direct",
                "amount": deal.amount,
                "credit_date": deal.date or window.start,
                "deal_type": deal.deal_type,
                "product_line": deal.product_line,
            }
            for i, (member, deal) in enumerate(deals, start=1)
        ],
        columns=CREDIT_COLUMNS,
    )
    ids = list(member_ids)
    each = {"member_id": ids, "window": [window.key] * len(ids)}
    ratios = attainment or {}
    kpi_values = pd.DataFrame(
        {
            "member_id": list(ratios),
            "window": [window.key] * len(ratios),
            "kpi": [kpi] * len(ratios),
            "value": list(ratios.values()),
        }
    )
    return PeriodInputs(
        period=window,
        windows={kind: window for kind in ("month", "quarter", "year")},
        members=pd.DataFrame(
            {
                "member_id": ids,
                "target_incentive": [target_incentive] * len(ids),
                "owed": [Decimal("0.00")] * len(ids),
            }
        ),
        credits=credits,
        quotas=pd.DataFrame({**each, "amount": [quota] * len(ids)})
        if quota is not None
        else pd.DataFrame(columns=["member_id", "window", "amount"]),
        team_attainment=pd.DataFrame(
            {
                "member_id": list(ratios),
                "window": [window.key] * len(ratios),
                "attainment": list(ratios.values()),
            }
        ),
        kpi_values=kpi_values if kpi else pd.DataFrame(columns=kpi_values.columns),
        objectives=pd.DataFrame(
            {**each, "weight": [Decimal("1")] * len(ids), "score": [mbo_score] * len(ids)}
            if mbo_score is not None
            else {"member_id": [], "window": [], "weight": [], "score": []}
        ),
    )


def _x_points(comp: Component, *, right_end: Decimal) -> list[Decimal]:
    edges = sorted(
        {b.lower for b in comp.rate_table} | {b.upper for b in comp.rate_table if b.upper}
    )
    top = max([right_end, *(edge * Decimal("1.25") for edge in edges)])
    step = top / CURVE_STEPS
    grid = {round_half_up(step * i, CENT) for i in range(CURVE_STEPS + 1)}
    below_edges = {edge - EDGE_GAP for edge in edges if edge > 0}
    return sorted(grid | set(edges) | below_edges)


def payout_curve(
    plan: PlanDocument, key: str, *, quota: Decimal, target_incentive: Decimal
) -> Curve | None:
    """The payout of component ``key`` at attainment points from 0 to past its
    last band (or at booked amounts, for a table on amount). ``None`` for a
    component without a rate table to draw (SPIFF, MBO, deal count)."""
    comp = next(c for c in plan.components if c.key == key)
    if comp.measure == "credited_bookings":
        basis = comp.target if comp.basis == "target" and comp.target else quota
        if comp.rate_table_on == "amount":
            xs = _x_points(comp, right_end=basis * Decimal("1.5"))
            amounts = xs
            x_label = "Booked amount"
        else:
            xs = _x_points(comp, right_end=Decimal("150"))
            amounts = [round_half_up(basis * x / HUNDRED, CENT) for x in xs]
            x_label = "Attainment (%)"
        ids = list(range(1, len(xs) + 1))
        deals = [(i, SampleDeal(amount)) for i, amount in zip(ids, amounts, strict=True) if amount]
        inputs = _inputs(
            plan, member_ids=ids, deals=deals, quota=basis, target_incentive=target_incentive
        )
    elif comp.measure in CURVE_MEASURES:
        xs = _x_points(comp, right_end=Decimal("150"))
        ids = list(range(1, len(xs) + 1))
        target = comp.target or Decimal("1")
        ratios = {
            i: (x / HUNDRED * target if comp.measure == "kpi" else x / HUNDRED)
            for i, x in zip(ids, xs, strict=True)
        }
        inputs = _inputs(
            plan,
            member_ids=ids,
            deals=[],
            quota=None,
            target_incentive=target_incentive,
            attainment=ratios,
            kpi=comp.kpi,
        )
        x_label = "Attainment (%)"
    else:
        return None
    lines = compute_period(plan, inputs).lines
    mine = lines[lines["component"] == key]
    paid = mine.groupby("member_id")["amount"].sum()
    points = [(x, paid.get(i, Decimal("0.00"))) for i, x in zip(ids, xs, strict=True)]
    return Curve(component=comp, x_label=x_label, points=points)


def preview(
    plan: PlanDocument,
    *,
    deals: Sequence[SampleDeal],
    quota: Decimal | None,
    target_incentive: Decimal,
    team_attainment: Decimal | None = None,
    mbo_score: Decimal | None = None,
) -> Preview:
    """The statement lines one member would get for ``deals`` in the sample
    quarter (team attainment and MBO score as ratios)."""
    inputs = _inputs(
        plan,
        member_ids=[1],
        deals=[(1, deal) for deal in deals],
        quota=quota,
        target_incentive=target_incentive,
        attainment={1: team_attainment} if team_attainment is not None else None,
        mbo_score=mbo_score,
    )
    lines = compute_period(plan, inputs).lines
    rows = lines[["component", "kind", "explanation", "amount"]].to_dict("records")
    return Preview(lines=rows, total=sum(lines["amount"], Decimal("0.00")))
