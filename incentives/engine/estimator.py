"""The rep's estimator: the engine's own run with what-if credits added.

``estimate`` takes the inputs of a real run for one member (``PeriodInputs``
from ``incentives.selectors.run_inputs``), adds hypothetical credits dated on
the period's last day, and runs ``compute_period`` on them: the same engine,
the same rules, no second formula. It then reads where the member lands in
the first attainment-based component's rate table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import pandas as pd

from incentives.document import Component, PlanDocument
from incentives.engine.frames import CREDIT_COLUMNS, HUNDRED, ZERO
from incentives.engine.run import PeriodInputs, compute_period
from spm.money import round_half_up

# Hypothetical credits get ids no real credit has (real ids are positive).
WHAT_IF_ID_BASE = -1


@dataclass(frozen=True)
class Estimate:
    commission: Decimal  # this period's statement total with the what-ifs
    lines: pd.DataFrame
    bookings: Decimal  # credited in the component's window, to the period's end
    quota: Decimal | None
    attainment: Decimal | None  # percent
    band: str | None  # "50-100%"
    rate: Decimal | None  # the band's rate, percent
    accelerator_at: Decimal | None  # attainment (percent) where the accelerator starts
    to_accelerator: Decimal | None  # bookings still needed to reach it (0 when reached)


def what_if_credits(
    member_id: int, amounts: list[tuple[int | None, str, Decimal]], inputs: PeriodInputs
) -> pd.DataFrame:
    """Credits for (deal id or None, name, amount) on the period's last day."""
    rows = [
        {
            "credit_id": WHAT_IF_ID_BASE - i,
            "deal_id": deal_id if deal_id is not None else WHAT_IF_ID_BASE - i,
            "deal_name": name,
            "member_id": member_id,
            "role": "direct",
            "amount": amount,
            "credit_date": inputs.period.end,
            "deal_type": "",
            "product_line": "",
        }
        for i, (deal_id, name, amount) in enumerate(amounts)
    ]
    return pd.DataFrame(rows, columns=CREDIT_COLUMNS)


def _tiered(plan: PlanDocument) -> Component | None:
    for comp in plan.components:  # a plan's few components
        if comp.measure == "credited_bookings" and comp.rate_table_on == "attainment":
            return comp
    return None


def _accelerator(comp: Component) -> Decimal | None:
    """Where the accelerator starts: the first band from 100% attainment up."""
    starts = [band.lower for band in comp.rate_table if band.lower >= HUNDRED]
    return min(starts) if starts else None


def estimate(
    plan: PlanDocument,
    inputs: PeriodInputs,
    *,
    member_id: int,
    what_if: list[tuple[int | None, str, Decimal]],
) -> Estimate:
    """This period's commission for ``member_id`` with ``what_if`` credits
    (deal id or None, name, amount) added to their real ones."""
    members = inputs.members[inputs.members["member_id"] == member_id]
    extra = what_if_credits(member_id, what_if, inputs)
    credits = pd.concat([inputs.credits, extra], ignore_index=True) if what_if else inputs.credits
    result = compute_period(plan, replace(inputs, members=members, credits=credits))
    commission = sum(result.lines["amount"], ZERO)
    comp = _tiered(plan)
    if comp is None:
        return Estimate(commission, result.lines, ZERO, None, None, None, None, None, None)
    window = inputs.windows[comp.period]
    mine = credits[
        (credits["member_id"] == member_id)
        & credits["role"].isin(comp.credit_roles)
        & (credits["credit_date"] >= window.start)
        & (credits["credit_date"] <= inputs.period.end)
    ]
    bookings = sum(mine["amount"], ZERO)
    quotas = inputs.quotas[
        (inputs.quotas["member_id"] == member_id) & (inputs.quotas["window"] == window.key)
    ]
    quota = quotas["amount"].iloc[0] if not quotas.empty else None
    if not quota:
        return Estimate(commission, result.lines, bookings, None, None, None, None, None, None)
    attainment = bookings / quota * HUNDRED
    band = next(
        b for b in reversed(comp.rate_table) if attainment >= b.lower or b is comp.rate_table[0]
    )
    upper = "+" if band.upper is None else f"-{band.upper.normalize():f}"
    accelerator = _accelerator(comp)
    needed = None
    if accelerator is not None:
        needed = max(ZERO, round_half_up(quota * accelerator / HUNDRED - bookings))
    return Estimate(
        commission=commission,
        lines=result.lines,
        bookings=bookings,
        quota=quota,
        attainment=round_half_up(attainment),
        band=f"{band.lower.normalize():f}{upper}%",
        rate=band.rate,
        accelerator_at=accelerator,
        to_accelerator=needed,
    )
