"""Plan modelling: a draft plan version applied to a past period's actual
credits for every member on a plan then, compared with the plans in force.

Both sides go through ``incentives.engine.compute_period``, the function a
calculation run calls, on the same frames (``selectors.run_inputs``), once per
plan version in force and once for everyone with the draft's document: a
handful of vectorised engine passes over the period's credits, no loop over
reps or deals. The engine adds each member's rounded deal lines up as it goes
(``detail=False``): the same amounts as a run's lines, without their
explanations. Each plan is applied from an empty ledger, the same for both
(docs/formulas.md, "Plan modelling"): every component is computed to date at
the period's end in its measurement window; earlier payments, draws,
clawbacks of earlier periods and manual adjustments are left out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from incentives.document import plan_document_validate
from incentives.engine import PeriodInputs, compute_period
from incentives.engine.frames import ZERO, empty_lines
from incentives.models import PlanVersion
from incentives.selectors import run_inputs
from spm.models import FiscalPeriod, Membership, Tenant
from spm.money import round_half_up

# The lines that are the plan's cost (draws and adjustments are not).
COST_KINDS = ("commission", "spiff", "bonus", "team", "kpi", "cap", "gate")
BOOKING_ROLES = ("direct", "split")
# Reps listed as gaining or losing most.
TOP = 5


@dataclass(frozen=True)
class PlanModel:
    """The comparison. ``members``: one row per member (``member_id``, ``name``,
    ``bookings``, ``current``, ``modelled``, ``change``), by change, largest
    gain first; shares are percentages of bookings (None without bookings)."""

    period: FiscalPeriod
    version: PlanVersion
    members: pd.DataFrame
    bookings: Decimal
    current: Decimal
    modelled: Decimal
    current_share: Decimal | None
    modelled_share: Decimal | None

    @property
    def change(self) -> Decimal:
        return self.modelled - self.current

    @property
    def gainers(self) -> pd.DataFrame:
        return self.members[self.members["change"] > 0].head(TOP)

    @property
    def losers(self) -> pd.DataFrame:
        losing = self.members[self.members["change"] < 0]
        return losing.sort_values(["change", "member_id"], kind="stable").head(TOP)


def _standalone(inputs: PeriodInputs) -> PeriodInputs:
    """The period's inputs from an empty ledger (nothing paid, owed or adjusted)."""
    return dataclasses.replace(
        inputs,
        members=inputs.members.assign(owed=ZERO),
        prior_windows={},
        posted=empty_lines(),
        adjustments=inputs.adjustments.iloc[0:0],
    )


def _cost(lines: pd.DataFrame) -> pd.Series:
    """The cost per member: the sum of its earning lines."""
    earned = lines[lines["kind"].isin(COST_KINDS)]
    return earned.groupby(earned["member_id"].astype("int64"))["amount"].sum()


def _share(cost: Decimal, bookings: Decimal) -> Decimal | None:
    return round_half_up(cost * 100 / bookings) if bookings else None


def plan_model(tenant: Tenant, *, version: PlanVersion, period: FiscalPeriod) -> PlanModel:
    """Apply ``version``'s document to ``period``'s credits for every member
    assigned a plan in ``period`` and compare with their plans in force.

    Runs inside the tenant's context; reads a fixed number of queries
    (``run_inputs`` plus the members' names). The document was validated when
    the version was saved."""
    draft = plan_document_validate(version.document)
    prepared = run_inputs(tenant, period=period, modelling=[draft])
    current: list[pd.Series] = []
    modelled: list[pd.Series] = []
    bookings: list[pd.DataFrame] = []
    for version_inputs in prepared:  # one per plan version in force: a handful
        inputs = _standalone(version_inputs.inputs)
        current.append(_cost(compute_period(version_inputs.document, inputs, detail=False).lines))
    if prepared:
        # The draft for everyone at once; a member on two versions in the
        # period (a change of plan) once, with both prorated target incentives.
        members = pd.concat([p.inputs.members for p in prepared], ignore_index=True)
        target = members.groupby(members["member_id"].astype("int64"))["target_incentive"].sum()
        inputs = _standalone(
            dataclasses.replace(
                prepared[0].inputs,
                members=pd.DataFrame(
                    {"member_id": target.index, "target_incentive": target.to_numpy(), "owed": ZERO}
                ),
            )
        )
        modelled.append(_cost(compute_period(draft, inputs, detail=False).lines))
        credits = inputs.credits
        booked = credits[
            credits["role"].isin(BOOKING_ROLES)
            & (credits["credit_date"] >= period.start)
            & (credits["credit_date"] <= period.end)
            & credits["member_id"].isin(inputs.members["member_id"])
        ]
        bookings.append(booked[["member_id", "amount"]])
    member_ids = sorted({int(m) for p in prepared for m in p.inputs.members["member_id"]})
    names = dict(
        (pk, f"{first} {last}".strip() or email)
        for pk, first, last, email in Membership.objects.filter(
            tenant=tenant, pk__in=member_ids
        ).values_list("pk", "user__first_name", "user__last_name", "user__email")
    )
    frame = pd.DataFrame({"member_id": pd.Series(member_ids, dtype="int64")})
    frame["name"] = frame["member_id"].map(names)
    booked_all = pd.concat(bookings, ignore_index=True) if bookings else pd.DataFrame()
    per_member = (
        booked_all.groupby(booked_all["member_id"].astype("int64"))["amount"].sum()
        if not booked_all.empty
        else pd.Series(dtype=object)
    )
    for column, parts in (
        ("bookings", [per_member]),
        ("current", current),
        ("modelled", modelled),
    ):
        found = [p for p in parts if not p.empty]
        # A member on two versions in the period (a change of plan) adds up.
        sums = pd.concat(found).groupby(level=0).sum() if found else pd.Series(dtype=object)
        values = frame["member_id"].map(sums)
        frame[column] = values.astype(object).where(values.notna(), ZERO)
    frame["change"] = (frame["modelled"] - frame["current"]).astype(object)
    frame = frame.sort_values(["change", "member_id"], ascending=[False, True], kind="stable")
    frame = frame.reset_index(drop=True)
    total_bookings = sum(frame["bookings"], ZERO)
    total_current = sum(frame["current"], ZERO)
    total_modelled = sum(frame["modelled"], ZERO)
    return PlanModel(
        period=period,
        version=version,
        members=frame,
        bookings=total_bookings,
        current=total_current,
        modelled=total_modelled,
        current_share=_share(total_current, total_bookings),
        modelled_share=_share(total_modelled, total_bookings),
    )
