"""The ledger side: pay the difference, claw back, draws, manual adjustments.

A period pays ``lines to date - paid to date`` on each line key
(docs/formulas.md, "Cumulative to date, paid as a difference"); closed
windows are recalculated and their difference posted as adjustment lines in
the open period (section "Clawbacks and adjustments"); draws come after the
components and before adjustments (section "Draws").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from incentives.engine.frames import (
    LINE_COLUMNS,
    ZERO,
    Window,
    empty_lines,
    lines_held,
    money,
    round_cents,
)

_META = ["component", "kind", "window", "deal_id", "credit_id", "credit_date", "credit_amount"]
_META += ["band", "base", "rate"]


def pay_difference(
    to_date: pd.DataFrame, posted: pd.DataFrame, *, adjusting: Window | None = None
) -> pd.DataFrame:
    """The lines a period pays: to date minus paid on the same line keys.

    A key paid before and gone now (a cancelled deal, a band no longer
    reached) is reversed. With ``adjusting``, the lines are adjustments to
    that closed window and say so.
    """
    if posted.empty and adjusting is None:
        # Nothing paid before: every line to date is paid as it is, in the
        # order the outer merge below gives (member, then line key).
        keep = (to_date["amount"] != 0) | (to_date["kind"] == "gate")
        ordered = to_date.loc[keep, LINE_COLUMNS].sort_values(
            ["member_id", "line_key"], kind="stable"
        )
        return ordered.reset_index(drop=True)
    paid = (
        posted.groupby(["member_id", "line_key"], as_index=False, sort=False).agg(
            paid=("amount", "sum"), **{f"p_{c}": (c, "first") for c in [*_META, "explanation"]}
        )
        if not posted.empty
        else pd.DataFrame(columns=["member_id", "line_key", "paid"])
    )
    merged = to_date.merge(paid, on=["member_id", "line_key"], how="outer", indicator=True)
    if merged.empty:
        return empty_lines()
    now = merged["_merge"] != "right_only"
    before = merged["_merge"] != "left_only"
    for column in _META:
        if f"p_{column}" in merged:
            merged[column] = merged[column].where(now, merged[f"p_{column}"])
    todate_amount = merged["amount"].where(now, ZERO)
    paid_amount = merged["paid"].where(before, ZERO)
    merged["amount"] = (todate_amount - paid_amount).astype(object)
    paid_text = paid_amount.map(money)
    explanation = merged["explanation"].where(
        ~(now & before & (paid_amount != 0)),
        merged["explanation"]
        + "; to date "
        + todate_amount.map(money)
        + " less "
        + paid_text
        + " paid",
    )
    if "p_explanation" in merged:
        explanation = explanation.where(
            now, "reversed: " + merged["p_explanation"].astype(str) + " (" + paid_text + " paid)"
        )
    if adjusting is not None:
        explanation = f"adjustment to {adjusting.label}: " + explanation.astype(str)
        merged["kind"] = merged["kind"].where(merged["kind"] == "gate", "adjustment")
    merged["explanation"] = explanation
    keep = (merged["amount"] != 0) | ((merged["kind"] == "gate") & now & (adjusting is None))
    return merged.loc[keep, LINE_COLUMNS].reset_index(drop=True)


def reclaim_lines(
    posted: pd.DataFrame,
    *,
    current_credits: pd.Series,
    window: Window,
    as_of: dt.date,
    window_days: int,
    pro_rata: bool,
    term_months: int,
) -> pd.DataFrame:
    """Reclaim at the original rate: the commission paid on each cancelled
    deal of a closed window, optionally pro rata to the unearned part of the
    term; attainment and every other line stay as paid. One reclaim per
    credit (``current_credits``: the credits members hold now,
    ``frames.credits_held``): a credit already reclaimed is not
    reclaimed again, and one reinstated since gets its reclaim paid back."""
    held = lines_held(posted) if not posted.empty else posted["line_key"]
    posted = posted.assign(held=held, ident=held.str.partition("/")[2])
    claws = posted[posted["kind"] == "clawback"]
    outstanding = claws.groupby(["member_id", "component", "ident"], as_index=False).agg(
        amount=("amount", "sum"), line_key=("line_key", "first"), held=("held", "first")
    )
    outstanding = outstanding[outstanding["amount"] != 0]
    reinstated = _reinstated_reclaims(outstanding, claws, current_credits, window)
    commission = posted[posted["credit_id"].notna() & (posted["kind"] != "clawback")]
    gone = commission[
        ~commission["held"].isin(current_credits) & ~commission["held"].isin(outstanding["held"])
    ]
    claimed = _reclaims(
        gone,
        window=window,
        as_of=as_of,
        window_days=window_days,
        pro_rata=pro_rata,
        term_months=term_months,
    )
    kept = [frame for frame in (claimed, reinstated) if not frame.empty]
    return pd.concat(kept, ignore_index=True) if kept else empty_lines()


def _reinstated_reclaims(
    outstanding: pd.DataFrame, claws: pd.DataFrame, current: pd.Series, window: Window
) -> pd.DataFrame:
    """A reclaimed credit that is back (the deal won again): its reclaim is
    paid back on the same line key."""
    back = outstanding[outstanding["held"].isin(current)].copy()
    if back.empty:
        return empty_lines()
    first = claws.drop_duplicates("line_key").set_index("line_key")
    for column in ("deal_id", "credit_id", "credit_date", "credit_amount"):
        back[column] = back["line_key"].map(first[column])
    back["amount"] = (-back["amount"]).astype(object)
    back["kind"] = "clawback"
    back["window"] = window.key
    back["band"] = None
    back["base"] = None
    back["rate"] = None
    back["explanation"] = (
        f"deal credited in {window.label} reinstated: the clawback of "
        + back["amount"].map(money)
        + " is paid back"
    )
    return back[LINE_COLUMNS].reset_index(drop=True)


def _reclaims(
    gone: pd.DataFrame,
    *,
    window: Window,
    as_of: dt.date,
    window_days: int,
    pro_rata: bool,
    term_months: int,
) -> pd.DataFrame:
    if gone.empty:
        return empty_lines()
    per_credit = gone.groupby(["member_id", "component", "ident"], as_index=False).agg(
        paid=("amount", "sum"),
        deal_id=("deal_id", "first"),
        credit_id=("credit_id", "first"),
        credit_date=("credit_date", "first"),
        credit_amount=("credit_amount", "first"),
    )
    dates = per_credit["credit_date"]
    within = dates.map(lambda d: (as_of - d).days <= window_days).astype(bool)
    per_credit = per_credit[within & (per_credit["paid"] != 0)].copy()
    if per_credit.empty:
        return empty_lines()
    months = per_credit["credit_date"].map(
        lambda d: (as_of.year - d.year) * 12 + as_of.month - d.month - (as_of.day < d.day)
    )
    months = months.clip(lower=0, upper=term_months)
    if pro_rata:
        share = ((term_months - months).map(Decimal) / Decimal(term_months)).astype(object)
        how = (
            " x "
            + (term_months - months).astype(str)
            + f"/{term_months} (cancelled after "
            + months.astype(str)
            + f" of {term_months} months)"
        )
    else:
        share = pd.Series([Decimal("1")] * len(per_credit), index=per_credit.index, dtype=object)
        how = pd.Series("", index=per_credit.index)
    per_credit["amount"] = round_cents(-(per_credit["paid"] * share))
    per_credit["kind"] = "clawback"
    per_credit["window"] = window.key
    per_credit["band"] = None
    per_credit["base"] = per_credit["paid"]
    per_credit["rate"] = share
    per_credit["explanation"] = (
        f"clawback of a deal credited in {window.label}, cancelled: "
        + per_credit["paid"].map(money)
        + " paid on it"
        + how
    )
    per_credit["line_key"] = (
        per_credit["component"] + f"|{window.key}|clawback|" + per_credit["ident"] + "|-"
    )
    return per_credit[LINE_COLUMNS].reset_index(drop=True)


def draw_lines(
    earned: pd.DataFrame,
    *,
    period: Window,
    amount: Decimal,
    recoverable: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw top-ups and recoveries for one period.

    ``earned`` has ``member_id``, ``earned`` (the period's component lines)
    and ``owed`` (the balance carried in). Returns the lines and the balance
    carried out (``member_id``, ``owed``). Recoverable: a shortfall under the
    draw is paid and owed; earnings above the draw repay what is owed.
    Non-recoverable: pays max(draw, earned) and owes nothing.
    """
    frame = earned.copy()
    shortfall = amount - frame["earned"]
    above = frame["earned"] - amount
    frame["topup"] = shortfall.where(shortfall > 0, ZERO).astype(object)
    above = above.where(above > 0, ZERO).astype(object)
    if recoverable:
        frame["recovered"] = frame["owed"].where(frame["owed"] < above, above).astype(object)
        frame["owed_after"] = frame["owed"] + frame["topup"] - frame["recovered"]
    else:
        frame["recovered"] = ZERO
        frame["owed_after"] = frame["owed"]
    kind_text = "recoverable" if recoverable else "non-recoverable"
    topups = frame[frame["topup"] > 0].copy()
    topups["kind"] = "draw"
    topups["amount"] = topups["topup"]
    topups["explanation"] = (
        f"{kind_text} draw {money(amount)}: earned "
        + topups["earned"].map(money)
        + ", the draw pays "
        + topups["topup"].map(money)
        + (("; owed after " + topups["owed_after"].map(money)) if recoverable else "")
    )
    recoveries = frame[frame["recovered"] > 0].copy()
    recoveries["kind"] = "draw_recovery"
    recoveries["amount"] = -recoveries["recovered"]
    recoveries["explanation"] = (
        "draw recovery: earned "
        + recoveries["earned"].map(money)
        + f" is above the draw of {money(amount)}; "
        + recoveries["recovered"].map(money)
        + " of "
        + recoveries["owed"].map(money)
        + " owed recovered"
    )
    lines = pd.concat([topups, recoveries], ignore_index=True)
    if lines.empty:
        return empty_lines(), frame[["member_id", "owed_after"]].rename(
            columns={"owed_after": "owed"}
        )
    lines["component"] = "draw"
    lines["window"] = period.key
    lines["base"] = lines["earned"]
    lines["rate"] = None
    for column in ("deal_id", "credit_id", "credit_date", "credit_amount", "band"):
        lines[column] = None
    lines["line_key"] = "draw|" + period.key + "|" + lines["kind"] + "|-|-"
    balance = frame[["member_id", "owed_after"]].rename(columns={"owed_after": "owed"})
    return lines[LINE_COLUMNS].reset_index(drop=True), balance


def manual_lines(adjustments: pd.DataFrame, *, period: Window) -> pd.DataFrame:
    """Manual adjustments (``member_id``, ``adjustment_id``, ``amount``, ``reason``)."""
    if adjustments.empty:
        return empty_lines()
    lines = adjustments.copy()
    lines["component"] = "adjustment"
    lines["kind"] = "manual"
    lines["window"] = period.key
    lines["explanation"] = "manual adjustment: " + lines["reason"].astype(str)
    lines["base"] = None
    lines["rate"] = None
    for column in ("deal_id", "credit_id", "credit_date", "credit_amount", "band"):
        lines[column] = None
    lines["line_key"] = (
        "adjustment|" + period.key + "|manual|" + lines["adjustment_id"].astype(str) + "|-"
    )
    return lines[LINE_COLUMNS].reset_index(drop=True)
