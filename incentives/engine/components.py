"""A component's statement lines to date for one measurement window.

Each function takes every member of a plan at once (frames, not rows) and
returns lines with exact amounts already rounded to cents per line
(docs/formulas.md, "Commission components"). They compute *to date*: the
caller pays the difference from what was paid before (``ledger``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

from incentives.document import Component, PlanDocument
from incentives.engine.frames import (
    HUNDRED,
    INFINITY,
    LINE_COLUMNS,
    ZERO,
    Window,
    band_label,
    credit_identity,
    decimals,
    div_half_up,
    empty_lines,
    money,
    number,
    places_of,
    round_cents,
    to_ints,
)
from spm.money import round_half_up


def _two_places(value: Decimal) -> str:
    return f"{round_half_up(value):,}"


def _key(
    frame: pd.DataFrame, comp: Component, window: Window, kind: str, *, per_band: bool
) -> pd.Series:
    credit = pd.Series("-", index=frame.index, dtype=object)
    has_credit = frame["credit_id"].notna()
    if "role" in frame and has_credit.any():
        credit[has_credit] = credit_identity(
            frame.loc[has_credit, "deal_id"], frame.loc[has_credit, "role"]
        )
    if not per_band:
        return f"{comp.key}|{window.key}|{kind}|" + credit + "|-"
    band = frame["band"].astype(object).where(frame["band"].notna(), "-").astype(str)
    return f"{comp.key}|{window.key}|{kind}|" + credit + "|" + band


def _finish(
    frame: pd.DataFrame,
    comp: Component,
    window: Window,
    kind: str,
    *,
    exact: pd.Series | None = None,
    amount: pd.Series | None = None,
    per_band: bool = True,
) -> pd.DataFrame:
    """Round each line once (``exact``; or take ``amount``, already rounded)
    and give it its key. A retroactive line is one per deal whatever band it
    reaches (``per_band=False``), so a later period pays that deal's uplift
    on the same key."""
    out = frame.copy()
    out["component"] = comp.key
    out["kind"] = kind
    out["window"] = window.key
    out["amount"] = amount if exact is None else round_cents(exact)
    for column in LINE_COLUMNS:
        if column not in out:
            out[column] = None
    out["line_key"] = _key(out, comp, window, kind, per_band=per_band)
    return out[LINE_COLUMNS].reset_index(drop=True)


def _credits_for(comp: Component, credits: pd.DataFrame, window: Window, as_of: dt.date):
    picked = credits[
        credits["role"].isin(comp.credit_roles)
        & (credits["credit_date"] >= window.start)
        & (credits["credit_date"] <= as_of)
    ]
    return picked.sort_values(["member_id", "credit_date", "deal_id", "credit_id"], kind="stable")


def _multiplier(comp: Component, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    factor = pd.Series([Decimal("1")] * len(frame), index=frame.index, dtype=object)
    note = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    for mult in comp.multipliers:  # a handful of plan settings, not deals
        match = pd.Series(True, index=frame.index)
        what = []
        if mult.deal_type:
            match &= frame["deal_type"] == mult.deal_type
            what.append(mult.deal_type.replace("_", " "))
        if mult.product_line:
            match &= frame["product_line"] == mult.product_line
            what.append(mult.product_line)
        factor = factor.where(~match, factor * mult.factor)
        note = note.where(~match, note + f" x {number(mult.factor)} ({', '.join(what)})")
    return factor, note


def _gate_and_basis_lines(
    comp: Component,
    window: Window,
    members: pd.DataFrame,
    *,
    blocked: pd.Series,
    reason: pd.Series,
) -> pd.DataFrame:
    """A zero line per member held back by the gate or a missing quota, saying why."""
    rows = members.loc[blocked, ["member_id"]].copy()
    if rows.empty:
        return empty_lines()
    rows["explanation"] = reason[blocked].to_numpy()
    rows["band"] = None
    rows["credit_id"] = None
    return _finish(
        rows, comp, window, "gate", exact=pd.Series([ZERO] * len(rows), index=rows.index)
    )


def _per_member(member_ids: np.ndarray, who: np.ndarray, cents: np.ndarray) -> pd.DataFrame:
    """One line per member: the sum of its lines' cents (``who`` indexes
    ``member_ids``), as exact ``Decimal``."""
    totals = pd.Series(cents, dtype=object).groupby(who).sum()
    return pd.DataFrame(
        {
            "member_id": member_ids[totals.index.to_numpy()],
            "amount": decimals(totals.to_numpy(dtype=object), 2),
            "band": None,
            "credit_id": None,
            "explanation": "",
        }
    )


def _group_cumsum(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Running sums of int64 ``values`` restarting at each new value of
    ``groups`` (rows sorted by group)."""
    total = np.cumsum(values)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    offset = np.repeat(total[starts] - values[starts], np.diff(np.r_[starts, len(values)]))
    return total - offset


def deal_lines(
    plan: PlanDocument,
    comp: Component,
    window: Window,
    *,
    as_of: dt.date,
    credits: pd.DataFrame,
    basis: pd.DataFrame,
    detail: bool = True,
) -> pd.DataFrame:
    """Commission per credited deal on a rate table (bookings or deal count).

    ``basis`` has ``member_id`` and ``basis`` (the quota or target of the
    window, ``None`` when there is none). Marginal: each slice of the running
    total earns its band's rate, one line per deal and band. Retroactive:
    every deal earns the rate of the band the total to date reached.

    The arithmetic is exact integer arithmetic over arrays
    (``frames.to_ints``): running totals in cents, band edges scaled to the
    decimals they need, one half-up division per line. Without ``detail``,
    the rounded lines of each member are added up into one line per member
    (no deal, band or explanation): the same amounts, for plan modelling.
    """
    picked = _credits_for(comp, credits, window, as_of)
    picked = picked[picked["member_id"].isin(basis["member_id"])]
    if picked.empty:
        return empty_lines()
    counting = comp.measure == "deal_count"
    units = (
        np.full(len(picked), 100, dtype="int64")
        if counting
        else picked["amount_cents"].to_numpy(dtype="int64")
    )
    member_ids = picked["member_id"].to_numpy(dtype="int64")
    cum = _group_cumsum(units, member_ids)

    # One row per member: total to date, basis, attainment, gate.
    codes, uniques = pd.factorize(member_ids, sort=False)
    last = np.flatnonzero(np.r_[member_ids[1:] != member_ids[:-1], True])
    members = pd.DataFrame({"member_id": uniques, "total_cents": cum[last]})
    members = members.merge(basis, on="member_id", how="left")
    members["total"] = decimals(members["total_cents"].to_numpy(dtype=object), 2)
    on_attainment = comp.rate_table_on == "attainment"
    has_basis = members["basis"].map(lambda b: b is not None and b == b and b > 0).astype(bool)
    safe_basis = members["basis"].where(has_basis, Decimal("1")).astype(object)
    attained = (members["total"] * HUNDRED / safe_basis).astype(object)
    # Attainment bands and a gate need a basis; an amount table does not.
    needs_basis = on_attainment or comp.gate is not None
    blocked = ~has_basis if needs_basis else pd.Series(False, index=members.index)
    reason = pd.Series(
        f"no {'quota' if comp.basis == 'quota' else 'target'} for {window.label}: "
        "attainment undefined, nothing paid",
        index=members.index,
        dtype=object,
    )
    if comp.gate is not None:
        gated = has_basis & (attained < comp.gate)
        reason = reason.where(
            ~gated,
            f"gate {number(comp.gate)}% not met: attainment "
            + attained.map(_two_places)
            + "% to date",
        )
        blocked |= gated
    held = _gate_and_basis_lines(comp, window, members, blocked=blocked, reason=reason)
    if bool(blocked.all()):
        return held

    # Band edges per member and band, as exact Decimals (members x bands).
    table = comp.rate_table
    lowers = [b.lower for b in table]
    uppers = [b.upper for b in table]
    scale = (safe_basis / HUNDRED).to_numpy(dtype=object) if on_attainment else None
    lo = np.empty((len(members), len(table)), dtype=object)
    hi = np.empty((len(members), len(table)), dtype=object)
    for b, (lower, upper) in enumerate(zip(lowers, uppers, strict=True)):  # a few bands
        lo[:, b] = lower * scale if scale is not None else lower
        hi[:, b] = (upper * scale if scale is not None else upper) if upper is not None else None
    edges = [*lo.ravel(), *(v for v in hi.ravel() if v is not None)]
    places = max(2, places_of(edges))
    # Positions on the running total, in units of 10^-places.
    up = 10 ** (places - 2)
    lo_int = to_ints(lo.ravel(), places).reshape(lo.shape)
    no_top = np.array([v is None for v in hi.ravel()]).reshape(hi.shape)
    hi_int = to_ints(np.where(no_top, 0, hi).ravel(), places).reshape(hi.shape)
    end = cum.astype(object) * up
    start = (cum - units).astype(object) * up
    total_int = members["total_cents"].to_numpy(dtype=object) * up

    # Every (deal, band) pair of unblocked members; keep the pairs that pay.
    keep_member = ~blocked.to_numpy()
    rows = np.flatnonzero(keep_member[codes])
    n_bands = len(table)
    line = np.repeat(rows, n_bands)
    band = np.tile(np.arange(n_bands), len(rows))
    who = codes[line]
    lo_at, hi_at, top_open = lo_int[who, band], hi_int[who, band], no_top[who, band]
    if comp.tiering == "marginal":
        top = np.where(top_open, end[line], np.minimum(end[line], hi_at))
        bottom = np.maximum(start[line], lo_at)
        base = top - bottom
        pays = base > 0
    else:
        total_at = total_int[who]
        pays = (total_at >= lo_at) & (top_open | (total_at < hi_at))
        base = units[line].astype(object) * up
    line, band, who, base = line[pays], band[pays], who[pays], base[pays]
    lines = picked.iloc[line].reset_index(drop=True)
    lines["band"] = band

    factor, note = _multiplier(comp, lines)
    rates = [b.amount if counting else b.rate for b in table]
    # rate x factor per line, from its few distinct values.
    pair_codes, pairs = pd.factorize(
        pd.Series(list(zip(band, factor.to_numpy(), strict=True)), dtype=object)
    )
    products = [rates[int(b)] * f for b, f in pairs]
    product_places = places_of(products)
    product_int = to_ints(products, product_places)[pair_codes]
    # cents = base x rate / 100 x factor x 100 (money) or base x amount x factor x 100 (count)
    denominator = 10 ** (places + product_places - (2 if counting else 0))
    cents = div_half_up(base * product_int, denominator)
    if not detail:
        out = _per_member(members["member_id"].to_numpy(), who, cents)
        out = _finish(out, comp, window, "commission", amount=out["amount"], per_band=False)
        return pd.concat([held, out], ignore_index=True) if not held.empty else out

    labels = np.array(
        [band_label(a, z, comp.rate_table_on) for a, z in zip(lowers, uppers, strict=True)],
        dtype=object,
    )
    label = pd.Series(labels[band], index=lines.index)
    base_dec = pd.Series(decimals(base, places), index=lines.index, dtype=object)
    rate = pd.Series(np.array(rates, dtype=object)[band], index=lines.index, dtype=object)
    if comp.tiering == "marginal":
        where = " in band " + label
    else:
        reached = (
            attained.map(_two_places) + "%" if on_attainment else members["total"].map(money)
        ).to_numpy(dtype=object)
        where = " (retroactive: band " + label + " reached at " + reached[who] + ")"
    name = lines["deal_name"].astype(str) + ": "
    if counting:
        text = name + base_dec.map(number) + " deal x " + rate.map(money)
    else:
        text = name + base_dec.map(money) + " x " + rate.map(number) + "%"
    lines["explanation"] = text + where + note
    lines["base"] = base_dec
    lines["rate"] = rate
    lines["credit_amount"] = decimals(lines["amount_cents"].to_numpy(dtype=object), 2)
    amount = pd.Series(decimals(cents, 2), index=lines.index, dtype=object)
    marginal = comp.tiering == "marginal"
    out = _finish(lines, comp, window, "commission", amount=amount, per_band=marginal)
    return pd.concat([held, out], ignore_index=True) if not held.empty else out


def spiff_lines(
    comp: Component,
    window: Window,
    *,
    as_of: dt.date,
    credits: pd.DataFrame,
    members: pd.Series,
    detail: bool = True,
) -> pd.DataFrame:
    """A fixed amount per qualifying credited deal, in the period of its
    close (without ``detail``: one line per member, the amount x its deals)."""
    spiff = comp.spiff
    if spiff is None:  # plan_document_validate requires it; a hand-built Component may not
        raise ValueError(f"component {comp.key}: the spiff measure needs a spiff rule")
    picked = _credits_for(comp, credits, window, as_of)
    picked = picked[picked["member_id"].isin(members)]
    rule = []
    if spiff.deal_type:
        picked = picked[picked["deal_type"] == spiff.deal_type]
        rule.append(spiff.deal_type.replace("_", " "))
    if spiff.product_line:
        picked = picked[picked["product_line"] == spiff.product_line]
        rule.append(spiff.product_line)
    if spiff.date_from:
        picked = picked[picked["credit_date"] >= spiff.date_from]
    if spiff.date_to:
        picked = picked[picked["credit_date"] <= spiff.date_to]
    if picked.empty:
        return empty_lines()
    if not detail:
        counts = picked.groupby("member_id").size()
        each = round_half_up(spiff.amount)
        out = pd.DataFrame(
            {
                "member_id": counts.index.to_numpy(),
                "amount": [each * int(n) for n in counts.to_numpy()],
                "band": None,
                "credit_id": None,
                "explanation": "",
            }
        )
        return _finish(out, comp, window, "spiff", amount=out["amount"], per_band=False)
    lines = picked.copy()
    lines["band"] = None
    lines["base"] = Decimal("1")
    lines["rate"] = spiff.amount
    lines["credit_amount"] = (lines["amount_cents"].map(Decimal) / HUNDRED).astype(object)
    if spiff.date_from or spiff.date_to:
        rule.append(f"closed {spiff.date_from or '...'} to {spiff.date_to or '...'}")
    what = f" ({', '.join(rule)})" if rule else ""
    lines["explanation"] = (
        lines["deal_name"].astype(str) + f": SPIFF {money(spiff.amount)} per qualifying deal{what}"
    )
    exact = pd.Series([spiff.amount] * len(lines), index=lines.index, dtype=object)
    return _finish(lines, comp, window, "spiff", exact=exact)


def mbo_lines(comp: Component, window: Window, *, objectives: pd.DataFrame) -> pd.DataFrame:
    """Target bonus x weighted score (weights and scores are fractions)."""
    bonus = comp.target_bonus
    if bonus is None:  # plan_document_validate requires it; a hand-built Component may not
        raise ValueError(f"component {comp.key}: the mbo_score measure needs a target_bonus")
    if objectives.empty:
        return empty_lines()
    parts = objectives.assign(
        weighted=objectives["weight"] * objectives["score"],
        text=(objectives["weight"] * HUNDRED).map(number)
        + "% x "
        + (objectives["score"] * HUNDRED).map(number)
        + "%",
    )
    per_member = parts.groupby("member_id", as_index=False).agg(
        score=("weighted", "sum"), text=("text", " + ".join)
    )
    per_member["band"] = None
    per_member["credit_id"] = None
    per_member["base"] = bonus
    per_member["rate"] = per_member["score"]
    per_member["explanation"] = (
        f"target bonus {money(bonus)} x score "
        + per_member["score"].map(number)
        + " ("
        + per_member["text"]
        + ")"
    )
    return _finish(per_member, comp, window, "bonus", exact=per_member["score"] * bonus)


def curve_lines(
    comp: Component, window: Window, *, attainment: pd.DataFrame, what: str
) -> pd.DataFrame:
    """Pay a share of the target incentive on an attainment (team or KPI).

    ``attainment`` has ``member_id``, ``attainment`` (a percentage) and
    ``target_incentive``. The base is target incentive x weight; a marginal
    band pays its slice of attainment points x rate, a retroactive one the
    whole attainment at the reached band's rate.
    """
    if attainment.empty:
        return empty_lines()
    frame = attainment.assign(
        base_money=attainment["target_incentive"] * comp.weight / HUNDRED
    ).merge(
        pd.DataFrame(
            {
                "band": range(len(comp.rate_table)),
                "lower": [b.lower for b in comp.rate_table],
                "upper": [b.upper for b in comp.rate_table],
                "rate": [b.rate for b in comp.rate_table],
            }
        ),
        how="cross",
    )
    upper = frame["upper"].where(frame["upper"].notna(), INFINITY)
    labels = [
        band_label(lo, up, "attainment")
        for lo, up in zip(frame["lower"], frame["upper"], strict=True)
    ]
    frame["label"] = labels
    if comp.tiering == "marginal":
        top = np.minimum(frame["attainment"].to_numpy(), upper.to_numpy())
        bottom = np.maximum(np.full(len(frame), ZERO, dtype=object), frame["lower"].to_numpy())
        frame["points"] = pd.Series(top - bottom, index=frame.index, dtype=object)
        lines = frame[frame["points"] > 0].copy()
        where = " in band " + lines["label"]
    else:
        reached = (frame["attainment"] >= frame["lower"]) & (frame["attainment"] < upper)
        lines = frame[reached].copy()
        lines["points"] = lines["attainment"]
        where = " (retroactive: band " + lines["label"] + " reached)"
    lines["base"] = lines["base_money"]
    lines["credit_id"] = None
    lines["explanation"] = (
        f"{what} "
        + lines["attainment"].map(lambda a: f"{round_half_up(a)}%")
        + ": "
        + lines["points"].map(lambda p: f"{round_half_up(p)}")
        + " points x "
        + lines["rate"].map(number)
        + "% of "
        + lines["base_money"].map(money)
        + where
    )
    exact = lines["points"] / HUNDRED * lines["rate"] / HUNDRED * lines["base_money"]
    kind = "team" if comp.measure == "team_attainment" else "kpi"
    return _finish(lines, comp, window, kind, exact=exact, per_band=comp.tiering == "marginal")


def cap_lines(
    comp: Component,
    window: Window,
    lines: pd.DataFrame,
    *,
    paid_earlier_in_year: pd.Series,
) -> pd.DataFrame:
    """Lines that bring the cumulative figure down to the caps.

    ``lines`` are the window's lines to date that the cap covers;
    ``paid_earlier_in_year`` (by member) what the component paid for earlier
    windows of the plan year, which the yearly cap counts.
    """
    if lines.empty or (comp.cap_per_period is None and comp.cap_per_year is None):
        return empty_lines()
    totals = lines.groupby("member_id", as_index=False)["amount"].sum()
    totals["cut"] = ZERO
    totals["explanation"] = ""
    if comp.cap_per_period is not None:
        over = totals["amount"] > comp.cap_per_period
        totals["cut"] = totals["cut"].where(~over, comp.cap_per_period - totals["amount"])
        totals["explanation"] = totals["explanation"].where(
            ~over,
            f"cap {money(comp.cap_per_period)} for {window.label} applied to "
            + totals["amount"].map(money),
        )
    if comp.cap_per_year is not None:
        earlier = totals["member_id"].map(paid_earlier_in_year).astype(object)
        earlier = earlier.where(earlier.notna(), ZERO)
        year_total = earlier + totals["amount"] + totals["cut"]
        over = year_total > comp.cap_per_year
        totals["cut"] = totals["cut"].where(~over, totals["cut"] + comp.cap_per_year - year_total)
        totals["explanation"] = totals["explanation"].where(
            ~over,
            f"yearly cap {money(comp.cap_per_year)} applied to "
            + year_total.map(money)
            + " for the plan year to date",
        )
    capped = totals[totals["cut"] != 0].copy()
    if capped.empty:
        return empty_lines()
    capped["band"] = None
    capped["credit_id"] = None
    capped["base"] = capped["amount"]
    return _finish(capped.drop(columns="amount"), comp, window, "cap", exact=capped["cut"])
