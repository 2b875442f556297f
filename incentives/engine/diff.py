"""What changed between two runs of a period, per member, in words.

``explain_changes`` compares the statement lines of two runs (a preview and
the published run, or two published runs) and sorts every line into exactly
one subject: a deal, a clawback or closed-period adjustment, a manual
adjustment, a cap, a draw, or another component line. Each subject whose
amount moved becomes one change with its effect in money (new - old), so a
member's effects add up exactly to the change of their statement total.

A deal's change is named from what differs on its lines: only in the new run
(added), only in the old (removed, or moved to another period when its credit
now falls outside), its credit record replaced (credit changed: a split or
role), its credited amount (amount changed); otherwise the deal is the same
and its pay moved with the plan version (plan version changed) or with the
band, rate or cap it reaches (rate or cap changed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import pandas as pd

from incentives.engine.frames import ZERO, money, number

CHANGE_COLUMNS: Final = ["member_id", "category", "subject", "effect", "text"]

CATEGORIES: Final = (
    "deal added",
    "deal removed",
    "moved period",
    "amount changed",
    "credit changed",
    "plan version changed",
    "rate or cap changed",
    "clawback",
    "adjustment",
    "draw",
    "component changed",
)


def _subject(lines: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(group, subject key) of each line: the one place a line's change is counted."""
    kind = lines["kind"].astype(str)
    has_deal = lines["deal_id"].notna()
    deal = (
        lines["deal_id"]
        .astype(object)
        .where(has_deal, "")
        .astype(str)
        .str.replace(r"\.0$", "", regex=True)
    )
    group = pd.Series("component", index=lines.index, dtype=object)
    group = group.where(~has_deal, "deal")
    group = group.where(~kind.isin(["draw", "draw_recovery"]), "draw")
    group = group.where(kind != "cap", "cap")
    group = group.where(~kind.isin(["clawback", "adjustment"]), "clawback")
    group = group.where(kind != "manual", "adjustment")
    subject = lines["component"].astype(str) + ":" + kind
    subject = subject.where(group != "deal", deal)
    subject = subject.where(group != "clawback", lines["component"].astype(str) + ":" + deal)
    subject = subject.where(group != "adjustment", lines["line_key"].astype(str))
    subject = subject.where(group != "cap", lines["component"].astype(str))
    subject = subject.where(group != "draw", "draw")
    return group, subject


def _side(lines: pd.DataFrame, side: str) -> pd.DataFrame:
    frame = lines.copy()
    frame["group"], frame["subject"] = _subject(frame)
    per = frame.groupby(["member_id", "group", "subject"], sort=False, dropna=False).agg(
        amount=("amount", "sum"),
        credit_id=("credit_id", "first"),
        credit_amount=("credit_amount", "first"),
        credit_date=("credit_date", "first"),
        component=("component", "first"),
        explanation=("explanation", "first"),
        rates=("rate", lambda r: tuple(sorted(str(x) for x in r if x is not None and x == x))),
    )
    per.columns = [f"{side}_{c}" for c in per.columns]
    return per


def _signed(value: Decimal) -> str:
    return ("+" if value >= 0 else "-") + money(abs(value))


def explain_changes(
    old: pd.DataFrame,
    new: pd.DataFrame,
    *,
    versions: tuple[Mapping[int, str], Mapping[int, str]] = ({}, {}),
    deal_names: Mapping[int, str] | None = None,
    moved_to: Mapping[tuple[int, int], dt.date] | None = None,
) -> pd.DataFrame:
    """The changes from ``old`` to ``new`` lines (``LINE_COLUMNS`` frames of
    two runs of one period), one row per member and subject whose amount
    moved: ``member_id``, ``category`` (one of ``CATEGORIES``), ``subject``,
    ``effect`` (Decimal, new - old), ``text``.

    ``versions`` maps member -> plan version label in the old and the new run;
    ``deal_names`` names deals; ``moved_to`` maps (member, deal) to the date
    a deal missing from ``new`` is now credited on (it moved period)."""
    names = deal_names or {}
    moved = moved_to or {}
    merged = _side(old, "old").join(_side(new, "new"), how="outer").reset_index()
    if merged.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    in_old = merged["old_amount"].notna()
    in_new = merged["new_amount"].notna()
    old_amount = merged["old_amount"].astype(object).where(in_old, ZERO)
    new_amount = merged["new_amount"].astype(object).where(in_new, ZERO)
    merged["effect"] = (new_amount - old_amount).astype(object)
    merged = merged[merged["effect"] != 0].copy()
    if merged.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    merged["in_old"] = in_old[merged.index]
    merged["in_new"] = in_new[merged.index]
    context = _Context(names, moved, versions[0], versions[1])
    described = [context.describe(rec) for rec in merged.to_dict("records")]  # changed subjects
    merged["category"] = [category for category, _ in described]
    merged["text"] = [text for _, text in described]
    merged["order"] = merged["category"].map(CATEGORIES.index)
    merged = merged.sort_values(["member_id", "order", "subject"], kind="stable")
    return merged[CHANGE_COLUMNS].reset_index(drop=True)


def _rates(rates: tuple[str, ...]) -> str:
    return ", ".join(f"{number(Decimal(x))}%" for x in rates) or "no rate"


@dataclass(frozen=True)
class _Context:
    names: Mapping[int, str]
    moved: Mapping[tuple[int, int], dt.date]
    old_versions: Mapping[int, str]
    new_versions: Mapping[int, str]

    def version_change(self, member: int) -> str | None:
        old, new = self.old_versions.get(member), self.new_versions.get(member)
        return None if old == new else f"plan version changed from {old or '-'} to {new or '-'}"

    def describe(self, rec: dict[str, Any]) -> tuple[str, str]:
        """One changed subject (a handful per member) in words."""
        effect = _signed(rec["effect"])
        group, subject = rec["group"], str(rec["subject"])
        side = "new" if rec["in_new"] else "old"
        explanation = str(rec[f"{side}_explanation"]).rstrip(". ")
        component = rec[f"{side}_component"]
        if group == "deal":
            return self.describe_deal(rec, effect)
        if group == "clawback":
            return "clawback", f"Clawback or adjustment to a closed period: {explanation}: {effect}"
        if group == "adjustment":
            said = explanation if rec["in_new"] else f"removed: {explanation}"
            return "adjustment", f"{said[:1].upper()}{said[1:]}: {effect}"
        if group == "cap":
            return "rate or cap changed", f"Cap on {component}: {effect}"
        if group == "draw":
            return "draw", f"Draw: {effect}"
        changed = self.version_change(int(rec["member_id"]))
        if changed:
            return "plan version changed", f"{component}: {changed}: {effect}"
        return "component changed", f"{component} ({subject.split(':')[-1]}): {effect}"

    def describe_deal(self, rec: dict[str, Any], effect: str) -> tuple[str, str]:
        member, deal = int(rec["member_id"]), int(rec["subject"])
        name = self.names.get(deal, f"deal {deal}")
        old_credit, new_credit = rec["old_credit_amount"], rec["new_credit_amount"]
        if not rec["in_old"]:
            return "deal added", (
                f"{name} added: credited {money(new_credit)} on {rec['new_credit_date']}: {effect}"
            )
        if not rec["in_new"]:
            when = self.moved.get((member, deal))
            if when is not None:
                return (
                    "moved period",
                    f"{name} moved to another period (credited on {when}): {effect}",
                )
            return "deal removed", f"{name} removed (no longer won or credited): {effect}"
        if rec["old_credit_id"] != rec["new_credit_id"]:
            return "credit changed", (
                f"{name}: credit changed (split or role), credited {money(old_credit)} -> "
                f"{money(new_credit)}: {effect}"
            )
        if old_credit != new_credit:
            return "amount changed", (
                f"{name}: amount changed {money(old_credit)} -> {money(new_credit)}: {effect}"
            )
        changed = self.version_change(member)
        if changed:
            return "plan version changed", f"{name}: {changed}: {effect}"
        return "rate or cap changed", (
            f"{name}: same credit {money(new_credit)}, now paid at {_rates(rec['new_rates'])} "
            f"(was {_rates(rec['old_rates'])}): {effect}"
        )
