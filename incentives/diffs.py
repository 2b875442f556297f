"""Reads for "what changed since the last run" (``incentives.engine.diff``).

The run a statement is compared with: for a preview, the period's published
run; for a published run, the run published before it (kept when superseded).
A fixed number of queries for any number of members and lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from incentives.engine import LINE_COLUMNS
from incentives.engine.diff import CHANGE_COLUMNS, explain_changes
from incentives.models import CalcRun, Credit, PlanVersion, Statement, StatementLine
from pipeline.models import Deal
from spm.models import Tenant


@dataclass
class StatementChanges:
    base_run: CalcRun
    base_total: Decimal
    total: Decimal
    changes: list[dict]

    @property
    def difference(self) -> Decimal:
        return self.total - self.base_total


def run_base(tenant: Tenant, *, run: CalcRun) -> CalcRun | None:
    """The run ``run`` is compared with (see the module docstring), or None."""
    earlier = CalcRun.objects.filter(
        tenant=tenant, period_id=run.period_id, published_at__isnull=False
    ).exclude(pk=run.pk)
    if run.published_at is not None:
        earlier = earlier.filter(published_at__lt=run.published_at)
    return earlier.order_by("-published_at", "-id").first()


def _lines(tenant: Tenant, run: CalcRun, member_ids: list[int] | None) -> pd.DataFrame:
    rows = StatementLine.objects.filter(tenant=tenant, statement__run=run)
    if member_ids is not None:
        rows = rows.filter(statement__membership_id__in=member_ids)
    columns = [c for c in LINE_COLUMNS if c != "member_id"]
    frame = pd.DataFrame(
        list(rows.values("statement__membership_id", *columns)),
        columns=["statement__membership_id", *columns],
    ).rename(columns={"statement__membership_id": "member_id"})[LINE_COLUMNS]
    return frame.astype(object).where(frame.notna(), None)


def run_changes(
    tenant: Tenant, *, run: CalcRun, base: CalcRun, member_ids: list[int] | None = None
) -> pd.DataFrame:
    """The changes from ``base`` to ``run`` per member (``CHANGE_COLUMNS``)."""
    old, new = _lines(tenant, base, member_ids), _lines(tenant, run, member_ids)
    versions = [
        dict(
            Statement.objects.filter(tenant=tenant, run=r)
            .exclude(version__isnull=True)
            .values_list("membership_id", "version_id")
        )
        for r in (base, run)
    ]
    labels = _version_labels(tenant, {v for side in versions for v in side.values()})
    deal_ids = {int(d) for d in pd.concat([old["deal_id"], new["deal_id"]]).dropna()}
    names = dict(Deal.objects.filter(tenant=tenant, pk__in=deal_ids).values_list("pk", "name"))
    moved = _moved(tenant, old, new, run)
    if old.empty and new.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    return explain_changes(
        old,
        new,
        versions=(
            {m: labels[v] for m, v in versions[0].items()},
            {m: labels[v] for m, v in versions[1].items()},
        ),
        deal_names=names,
        moved_to=moved,
    )


def _version_labels(tenant: Tenant, ids: set[int]) -> dict[int, str]:
    return {
        v.pk: f"{v.plan.name} v{v.number}"
        for v in PlanVersion.objects.filter(tenant=tenant, pk__in=ids).select_related("plan")
    }


def _moved(
    tenant: Tenant, old: pd.DataFrame, new: pd.DataFrame, run: CalcRun
) -> dict[tuple[int, int], dt.date]:
    """(member, deal) -> the date a deal gone from ``new`` is now credited on,
    where that date lies outside the run's period."""
    gone = old[old["deal_id"].notna() & ~old["deal_id"].isin(new["deal_id"].dropna())]
    if gone.empty:
        return {}
    period = run.period
    credits = Credit.objects.filter(
        tenant=tenant,
        deal_id__in=[int(d) for d in gone["deal_id"].unique()],
        recipient_id__in=[int(m) for m in gone["member_id"].unique()],
    ).exclude(credit_date__range=(period.start, period.end))
    return {
        (member, deal): day
        for member, deal, day in credits.values_list("recipient_id", "deal_id", "credit_date")
    }


def statement_changes(tenant: Tenant, *, statement: Statement) -> StatementChanges | None:
    """What changed on ``statement`` since its member's statement in the base
    run (None when there is no earlier published run of the period)."""
    base = run_base(tenant, run=statement.run)
    if base is None:
        return None
    before = (
        Statement.objects.filter(tenant=tenant, run=base, membership_id=statement.membership_id)
        .values_list("total", flat=True)
        .first()
    )
    changes = run_changes(
        tenant, run=statement.run, base=base, member_ids=[statement.membership_id]
    )
    return StatementChanges(
        base_run=base,
        base_total=before if before is not None else Decimal("0.00"),
        total=statement.total,
        changes=changes.to_dict("records"),
    )
