"""One plan version, one payout period, every member on it: the statement lines.

``compute_period`` is the engine's entry point. It reads frames (no database,
no HTTP, no Celery) and follows the order of operations of docs/formulas.md:
credits -> measures and attainment -> rate tables -> multipliers -> caps on
the cumulative figure -> SPIFFs and bonuses -> draws -> adjustments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from incentives.document import CURVE_MEASURES, Component, PlanDocument
from incentives.engine import components as c
from incentives.engine.frames import (
    HUNDRED,
    LINE_COLUMNS,
    ZERO,
    Window,
    credits_held,
    empty_lines,
    lines_held,
)
from incentives.engine.ledger import (
    draw_lines,
    manual_lines,
    pay_difference,
    reclaim_lines,
)

_EARNING_KINDS = ("commission", "spiff", "bonus", "team", "kpi", "cap", "gate")
_BONUS_MEASURES = ("spiff", "mbo_score")


@dataclass
class PeriodInputs:
    """Everything the engine reads for one payout period of one plan version.

    - ``period``: the payout period (a month or a quarter).
    - ``windows``: the measurement windows containing the period's end, by
      kind (``month``, ``quarter``, ``year``); ``prior_windows``: earlier
      windows by kind whose figures may need adjusting (closed ones), those
      of the previous plan year included when the clawback window reaches
      into it; ``year_starts``: the first days of the plan years they belong
      to (a yearly cap counts what was paid earlier in the window's own year).
    - ``members``: ``member_id``, ``target_incentive`` (prorated by active
      days), ``owed`` (draw balance carried in).
    - ``credits``: one row per credit (``incentives.engine.frames.CREDIT_COLUMNS``,
      ``amount`` as ``Decimal``).
    - ``quotas``: ``member_id``, ``window`` (a window key), ``amount``.
    - ``team_attainment``: ``member_id``, ``window``, ``attainment`` (a ratio).
    - ``kpi_values``: ``member_id``, ``window``, ``kpi``, ``value``.
    - ``objectives``: ``member_id``, ``window``, ``weight``, ``score`` (fractions).
    - ``posted``: lines of published statements of the plan year (earlier periods).
    - ``adjustments``: manual adjustments of this period.
    """

    period: Window
    windows: Mapping[str, Window]
    members: pd.DataFrame
    credits: pd.DataFrame
    prior_windows: Mapping[str, Sequence[Window]] = field(default_factory=dict)
    quotas: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["member_id", "window", "amount"])
    )
    team_attainment: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["member_id", "window", "attainment"])
    )
    kpi_values: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["member_id", "window", "kpi", "value"])
    )
    objectives: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["member_id", "window", "weight", "score"])
    )
    posted: pd.DataFrame = field(default_factory=empty_lines)
    year_starts: Sequence[dt.date] = ()
    adjustments: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["member_id", "adjustment_id", "amount", "reason"]
        )
    )


@dataclass
class PeriodResult:
    lines: pd.DataFrame
    balances: pd.DataFrame  # member_id, owed (draw balance carried out)

    def totals(self) -> dict[int, Decimal]:
        """Statement total per member: the sum of its rounded lines."""
        sums = self.lines.groupby("member_id")["amount"].sum()
        return {int(k): v for k, v in sums.items()}


def _pays_in(comp: Component, inputs: PeriodInputs) -> bool:
    if comp.payout_frequency == "month":
        return True
    quarter = inputs.windows.get("quarter")
    return quarter is not None and inputs.period.end == quarter.end


def _to_date(
    plan: PlanDocument,
    comp: Component,
    window: Window,
    *,
    as_of: dt.date,
    inputs: PeriodInputs,
    credits: pd.DataFrame,
    paid_earlier_in_year: pd.Series,
    inside_cap: pd.DataFrame,
    detail: bool = True,
) -> pd.DataFrame:
    members = inputs.members[["member_id", "target_incentive"]]
    if comp.measure in ("credited_bookings", "deal_count"):
        if comp.basis == "quota":
            quotas = inputs.quotas[inputs.quotas["window"] == window.key]
            basis = members[["member_id"]].merge(
                quotas[["member_id", "amount"]].rename(columns={"amount": "basis"}),
                on="member_id",
                how="left",
            )
            basis["basis"] = basis["basis"].astype(object).where(basis["basis"].notna(), None)
        else:
            basis = members[["member_id"]].assign(basis=comp.target)
        lines = c.deal_lines(
            plan, comp, window, as_of=as_of, credits=credits, basis=basis, detail=detail
        )
    elif comp.measure == "spiff":
        return c.spiff_lines(
            comp,
            window,
            as_of=as_of,
            credits=credits,
            members=members["member_id"],
            detail=detail,
        )
    elif comp.measure == "mbo_score":
        objectives = inputs.objectives[
            (inputs.objectives["window"] == window.key)
            & inputs.objectives["member_id"].isin(members["member_id"])
        ]
        return c.mbo_lines(comp, window, objectives=objectives)
    else:
        lines = c.curve_lines(
            comp, window, attainment=_attainment(comp, window, inputs), what=_curve_what(comp)
        )
    covered = pd.concat([lines, inside_cap], ignore_index=True) if not inside_cap.empty else lines
    caps = c.cap_lines(comp, window, covered, paid_earlier_in_year=paid_earlier_in_year)
    return pd.concat([lines, caps], ignore_index=True) if not caps.empty else lines


def _curve_what(comp: Component) -> str:
    return "team attainment" if comp.measure == "team_attainment" else f"KPI {comp.kpi} attainment"


def _attainment(comp: Component, window: Window, inputs: PeriodInputs) -> pd.DataFrame:
    members = inputs.members[["member_id", "target_incentive"]]
    if comp.measure == "team_attainment":
        source = inputs.team_attainment[inputs.team_attainment["window"] == window.key]
        ratio = source[["member_id", "attainment"]]
    else:
        source = inputs.kpi_values[
            (inputs.kpi_values["window"] == window.key) & (inputs.kpi_values["kpi"] == comp.kpi)
        ]
        target = comp.target or Decimal("1")
        ratio = source[["member_id"]].assign(attainment=(source["value"] / target).astype(object))
    frame = members.merge(ratio, on="member_id")
    frame = frame[frame["attainment"].notna()]
    frame["attainment"] = (frame["attainment"] * HUNDRED).astype(object)
    return frame


def _posted_for(posted: pd.DataFrame, comp: Component, window: Window) -> pd.DataFrame:
    return posted[(posted["component"] == comp.key) & (posted["window"] == window.key)]


def _year_start(inputs: PeriodInputs, window: Window) -> dt.date:
    """The first day of the plan year ``window`` belongs to (as far as the
    inputs say: without year windows, every window counts as one year)."""
    year = inputs.windows.get("year")
    known = (*inputs.year_starts, *([year.start] if year else []))
    starts = [s for s in known if s <= window.start]
    return max(starts) if starts else dt.date.min


def _paid_before(posted: pd.DataFrame, comp: Component, window: Window, year: dt.date) -> pd.Series:
    """What ``comp`` paid for windows before ``window`` in its plan year."""
    mine = posted[posted["component"] == comp.key]
    starts = mine["window"].astype(str).str.split(":").str[1]
    earlier = mine[(starts < window.start.isoformat()) & (starts >= year.isoformat())]
    return earlier.groupby("member_id")["amount"].sum()


def _in_reach(plan: PlanDocument, inputs: PeriodInputs, window: Window) -> bool:
    """An earlier window of this plan year is always recalculated; one of the
    previous plan year only while the clawback window reaches it."""
    year = inputs.windows.get("year")
    if year is None or window.start >= year.start:
        return True
    return (inputs.period.end - window.end).days <= plan.clawback_window_days


def _reinstated(
    plan: PlanDocument, posted: pd.DataFrame, credits: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """Credits cancelled after the clawback window: they stay as paid, each
    with the role it was paid in."""
    paid = posted[posted["credit_id"].notna()]
    if paid.empty:
        return credits
    paid = paid.assign(held=lines_held(paid))
    gone = paid[~paid["held"].isin(credits_held(credits))].drop_duplicates("held")
    late = gone["credit_date"].map(lambda d: (as_of - d).days > plan.clawback_window_days)
    gone = gone[late.astype(bool)]
    if gone.empty:
        return credits
    back = pd.DataFrame(
        {
            "credit_id": gone["credit_id"],
            "deal_id": gone["deal_id"],
            "deal_name": "deal " + gone["deal_id"].astype(str),
            "member_id": gone["member_id"],
            "role": gone["held"].str.rpartition(":")[2],
            "amount": gone["credit_amount"],
            "amount_cents": (gone["credit_amount"] * HUNDRED).map(int),
            "credit_date": gone["credit_date"],
            "deal_type": "",
            "product_line": "",
        }
    )
    return pd.concat([credits, back], ignore_index=True)


def compute_period(
    plan: PlanDocument, inputs: PeriodInputs, *, detail: bool = True
) -> PeriodResult:
    """The statement lines of one payout period for every member of a plan.

    Each component is computed to date in its measurement window and paid as
    the difference from ``inputs.posted``; earlier (closed) windows are
    recalculated and their differences become adjustment lines (reverse
    policy) or deals cancelled in them are reclaimed at the rate paid
    (reclaim policy); then draws, then manual adjustments. Amounts are
    rounded once per line; a statement's total is the sum of its lines.

    Without ``detail`` (plan modelling, from an empty ledger), the deal
    lines of each member and component are added up into one line: the
    same totals, none of the per-deal explanations.
    """
    credits = inputs.credits.copy()
    credits["amount_cents"] = (credits["amount"] * HUNDRED).map(int).astype("int64")
    members = set(inputs.members["member_id"])
    credits = credits[credits["member_id"].isin(members)]
    posted = inputs.posted[inputs.posted["member_id"].isin(members)]
    as_of = inputs.period.end
    all_lines: list[pd.DataFrame] = []
    earnings: list[pd.DataFrame] = []

    def window_lines(comp: Component, window: Window, at: dt.date, use: pd.DataFrame):
        inside = empty_lines()
        if plan.bonuses_inside_cap and comp.measure not in _BONUS_MEASURES:
            bonus = [
                _to_date(
                    plan,
                    b,
                    window,
                    as_of=at,
                    inputs=inputs,
                    credits=use,
                    paid_earlier_in_year=pd.Series(dtype=object),
                    inside_cap=empty_lines(),
                    detail=detail,
                )
                for b in plan.components
                if b.measure in _BONUS_MEASURES and b.period == comp.period
            ]
            inside = pd.concat(bonus, ignore_index=True) if bonus else inside
        return _to_date(
            plan,
            comp,
            window,
            as_of=at,
            inputs=inputs,
            credits=use,
            paid_earlier_in_year=_paid_before(posted, comp, window, _year_start(inputs, window)),
            inside_cap=inside,
            detail=detail,
        )

    for comp in plan.components:  # the plan's few components, not deals or reps
        if not _pays_in(comp, inputs):
            continue
        window = inputs.windows[comp.period]
        to_date = window_lines(comp, window, as_of, credits)
        paid = pay_difference(to_date, _posted_for(posted, comp, window))
        all_lines.append(paid)
        earnings.append(paid)
        for earlier in inputs.prior_windows.get(comp.period, ()):
            done = _posted_for(posted, comp, earlier)
            if done.empty or not _in_reach(plan, inputs, earlier):
                continue
            if plan.clawback_policy == "reclaim":
                if comp.measure in CURVE_MEASURES or comp.measure == "mbo_score":
                    continue
                all_lines.append(
                    reclaim_lines(
                        done,
                        current_credits=credits_held(credits),
                        window=earlier,
                        as_of=as_of,
                        window_days=plan.clawback_window_days,
                        pro_rata=plan.clawback_pro_rata,
                        term_months=plan.clawback_term_months,
                    )
                )
            else:
                use = _reinstated(plan, done, credits, as_of)
                again = window_lines(comp, earlier, earlier.end, use)
                all_lines.append(pay_difference(again, done, adjusting=earlier))

    earned_lines = pd.concat(earnings, ignore_index=True) if earnings else empty_lines()
    balances = inputs.members[["member_id", "owed"]].copy()
    if plan.draw_amount is not None:
        earned = earned_lines[earned_lines["kind"].isin(_EARNING_KINDS)]
        per_member = earned.groupby("member_id")["amount"].sum()
        frame = inputs.members[["member_id", "owed"]].copy()
        frame["earned"] = frame["member_id"].map(per_member).astype(object)
        frame["earned"] = frame["earned"].where(frame["earned"].notna(), ZERO)
        draws, balances = draw_lines(
            frame,
            period=inputs.period,
            amount=plan.draw_amount,
            recoverable=plan.draw_recoverable,
        )
        all_lines.append(draws)
    adjustments = inputs.adjustments[inputs.adjustments["member_id"].isin(members)]
    all_lines.append(manual_lines(adjustments, period=inputs.period))
    kept = [frame for frame in all_lines if not frame.empty]
    lines = pd.concat(kept, ignore_index=True) if kept else empty_lines()
    return PeriodResult(lines=lines[LINE_COLUMNS], balances=balances)
