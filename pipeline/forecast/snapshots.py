"""Weekly snapshots of the period's deals and what they show: the trend of
each category over the weeks, and the waterfall of what moved the forecast
(closed + commit) since the previous snapshot (docs/formulas.md section 7).

A snapshot row is a deal as it stood at the end of the snapshot day
(``pipeline.forecast.history.deals_as_of``): won or lost with a close date in
the period, or open with an expected close date in it, by category.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Sum

from pipeline.forecast.history import deals_as_of
from pipeline.models import DealStatus, ForecastSnapshot, SnapshotCategory
from spm.models import FiscalPeriod, Tenant

ZERO = Decimal("0.00")
CALL_CATEGORIES = (SnapshotCategory.CLOSED, SnapshotCategory.COMMIT)
OPEN_CATEGORIES = (
    SnapshotCategory.COMMIT,
    SnapshotCategory.BEST_CASE,
    SnapshotCategory.PIPELINE,
    SnapshotCategory.OMITTED,
)

INSERT_SQL = """
INSERT INTO pipeline_forecastsnapshot (tenant_id, period_id, day, deal_id, owner_id, category,
    amount, weighted)
SELECT %(tenant)s, %(period)s, %(day)s, d, o, c, ROUND(a::numeric, 2), ROUND(w::numeric, 2)
FROM unnest(%(deal)s::bigint[], %(owner)s::bigint[], %(category)s::text[], %(amount)s::float8[],
    %(weighted)s::float8[]) AS t(d, o, c, a, w)
"""


def snapshot_frame(frame: pd.DataFrame, *, period: FiscalPeriod, day: dt.date) -> pd.DataFrame:
    """The rows of a snapshot from deals as of ``day`` (columns deal_id,
    owner_id, category, amount, weighted)."""
    start, end, today = (pd.Timestamp(x) for x in (period.start, period.end, day))
    closed = frame["status"] != DealStatus.OPEN
    keep = (closed & frame["close_date"].between(start, today)) | (
        ~closed & frame["expected_close_date"].between(start, end)
    )
    rows = frame.loc[keep]
    category = np.where(
        rows["status"] == DealStatus.WON,
        SnapshotCategory.CLOSED,
        np.where(rows["status"] == DealStatus.LOST, SnapshotCategory.LOST, rows["category"]),
    )
    weight = np.where(rows["status"] == DealStatus.OPEN, rows["stage_probability"] / 100, 0.0)
    weight = np.where(rows["status"] == DealStatus.WON, 1.0, weight)
    return pd.DataFrame(
        {
            "deal_id": rows["deal_id"].to_numpy(),
            "owner_id": rows["owner_id"].to_numpy(),
            "category": category.astype(str),
            "amount": rows["amount"].to_numpy(dtype=float),
            "weighted": rows["amount"].to_numpy(dtype=float) * weight,
        }
    )


def forecast_snapshot_take(tenant: Tenant, *, period: FiscalPeriod, day: dt.date) -> int:
    """Store the period's deals as they stood on ``day`` (taken again, the
    day's rows are replaced). Returns the rows written. Call inside the
    tenant's context."""
    rows = snapshot_frame(
        deals_as_of(tenant, day=day, from_day=period.start), period=period, day=day
    )
    with transaction.atomic():
        ForecastSnapshot.objects.filter(tenant=tenant, period=period, day=day).delete()
        if not rows.empty:
            params = {
                "tenant": tenant.pk,
                "period": period.pk,
                "day": day,
                "deal": rows["deal_id"].tolist(),
                "owner": rows["owner_id"].tolist(),
                "category": rows["category"].tolist(),
                "amount": rows["amount"].tolist(),
                "weighted": rows["weighted"].tolist(),
            }
            with connection.cursor() as cursor:
                cursor.execute(INSERT_SQL, params)
    return len(rows)


@dataclass(frozen=True)
class TrendPoint:
    """One snapshot day of a subject: amounts by category and the weighted pipeline."""

    day: dt.date
    amounts: dict[str, Decimal]
    weighted: Decimal

    @property
    def call_default(self) -> Decimal:
        return sum((self.amounts.get(c, ZERO) for c in CALL_CATEGORIES), ZERO)


def forecast_trend(
    tenant: Tenant, *, period: FiscalPeriod, owner_ids: list[int]
) -> list[TrendPoint]:
    """The subject's (owners') amounts per snapshot day and category (one query)."""
    rows = (
        ForecastSnapshot.objects.filter(tenant=tenant, period=period, owner_id__in=owner_ids)
        .values("day", "category")
        .annotate(total=Sum("amount"), weighted_total=Sum("weighted"))
        .order_by("day", "category")
    )
    amounts: dict[dt.date, dict[str, Decimal]] = {}
    weighted: dict[dt.date, Decimal] = {}
    for row in rows:
        amounts.setdefault(row["day"], {})[row["category"]] = row["total"]
        weighted[row["day"]] = weighted.get(row["day"], ZERO) + row["weighted_total"]
    return [TrendPoint(day, amounts[day], weighted[day]) for day in amounts]


@dataclass(frozen=True)
class Waterfall:
    """What moved closed + commit from one snapshot day to the next: the
    starting figure, the steps (label, amount) and the figure reached."""

    previous_day: dt.date | None
    day: dt.date | None
    start: Decimal
    steps: list[tuple[str, Decimal]]
    end: Decimal


WATERFALL_STEPS = (
    ("new", "New deals"),
    ("pushed", "Pushed out"),
    ("closed", "Closed"),
    ("amount", "Amount changes"),
    ("category", "Category changes"),
)


def waterfall_steps(previous: pd.DataFrame, current: pd.DataFrame) -> dict[str, int]:
    """Cents of closed + commit moved by each cause between two snapshots
    (frames of deal_id, category, amount_cents). A deal new to the period
    counts whole under "new", one gone (moved out, deleted) under "pushed";
    one that closed (won or lost) its difference under "closed"; for the
    rest, the category change at the old amount, then the amount change."""
    both = previous.merge(current, on="deal_id", how="outer", suffixes=("_0", "_1"))
    counts_0 = both["category_0"].isin(CALL_CATEGORIES)
    counts_1 = both["category_1"].isin(CALL_CATEGORIES)
    amount_0 = both["amount_cents_0"].fillna(0).astype(np.int64)
    amount_1 = both["amount_cents_1"].fillna(0).astype(np.int64)
    before = np.where(counts_0, amount_0, 0)
    after = np.where(counts_1, amount_1, 0)
    is_new = both["category_0"].isna().to_numpy()
    gone = both["category_1"].isna().to_numpy()
    was_open = both["category_0"].isin(OPEN_CATEGORIES).to_numpy()
    now_open = both["category_1"].isin(OPEN_CATEGORIES).to_numpy()
    closed = ~is_new & ~gone & was_open & ~now_open
    rest = ~is_new & ~gone & ~closed
    at_old_amount = np.where(counts_1, amount_0, 0)
    return {
        "new": int(after[is_new].sum()),
        "pushed": int(-before[gone].sum()),
        "closed": int((after - before)[closed].sum()),
        "category": int((at_old_amount - before)[rest].sum()),
        "amount": int((after - at_old_amount)[rest].sum()),
    }


def _snapshot_cents(
    tenant: Tenant, *, period: FiscalPeriod, day: dt.date | None, owner_ids: list[int]
) -> pd.DataFrame:
    rows = ForecastSnapshot.objects.filter(
        tenant=tenant, period=period, day=day, owner_id__in=owner_ids
    ).values_list("deal_id", "category", "amount")
    frame = pd.DataFrame(list(rows), columns=["deal_id", "category", "amount"])
    frame["amount_cents"] = (frame["amount"] * 100).astype(np.int64) if len(frame) else 0
    return frame[["deal_id", "category", "amount_cents"]]


def _cents(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(ZERO)


def forecast_waterfall(
    tenant: Tenant, *, period: FiscalPeriod, owner_ids: list[int], day: dt.date | None = None
) -> Waterfall:
    """The waterfall between the last two snapshot days (up to ``day``) of the
    owners' deals (three queries). With one snapshot, everything is new."""
    days = ForecastSnapshot.objects.filter(tenant=tenant, period=period)
    if day is not None:
        days = days.filter(day__lte=day)
    latest = list(days.values_list("day", flat=True).distinct().order_by("-day")[:2])
    current_day = latest[0] if latest else None
    previous_day = latest[1] if len(latest) > 1 else None
    current = _snapshot_cents(tenant, period=period, day=current_day, owner_ids=owner_ids)
    previous = _snapshot_cents(tenant, period=period, day=previous_day, owner_ids=owner_ids)
    moved = waterfall_steps(previous, current)
    start = int(previous.loc[previous["category"].isin(CALL_CATEGORIES), "amount_cents"].sum())
    end = int(current.loc[current["category"].isin(CALL_CATEGORIES), "amount_cents"].sum())
    return Waterfall(
        previous_day=previous_day,
        day=current_day,
        start=_cents(start),
        steps=[(label, _cents(moved[key])) for key, label in WATERFALL_STEPS],
        end=_cents(end),
    )
