"""Accuracy of past forecasts (docs/formulas.md section 7, "Accuracy"): for a
past period and each point in it (the start, week 4, week 8, one week before
the end), what the rep and manager calls, the weighted pipeline and the
statistical forecast said then, against the bookings that followed.

Nothing from after the point is used: calls submitted by then, deals and
stages as of then (``pipeline.forecast.history``), the statistical forecast
fitted on the history known then. Actual bookings are the deals won in the
period (by owner; a manager's and a team's are their subtree's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone

from pipeline.forecast.accuracy import forecast_accuracy, forecast_bias
from pipeline.forecast.history import day_end
from pipeline.forecast.selectors import Tree, forecast_tree
from pipeline.forecast.stats import closed_by_owner, estimate, subject_matrix
from pipeline.models import (
    AccuracyMethod,
    AsOfPoint,
    ForecastAccuracy,
    ForecastCall,
    SubjectKind,
)
from spm.models import FiscalPeriod, Tenant

POINT_DAYS: dict[str, int] = {AsOfPoint.START: 0, AsOfPoint.WEEK_4: 28, AsOfPoint.WEEK_8: 56}


def point_day(period: FiscalPeriod, point: str) -> dt.date:
    """The day of ``point`` in ``period`` (the last week's is 7 days before the end)."""
    if point == AsOfPoint.LAST_WEEK:
        return period.end - dt.timedelta(days=7)
    return period.start + dt.timedelta(days=POINT_DAYS[point])


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


@dataclass(frozen=True)
class Forecasts:
    """Per owner, what each model said as of a day (float amounts)."""

    owners: np.ndarray
    weighted: np.ndarray
    statistical: np.ndarray


def model_forecasts(tenant: Tenant, *, period: FiscalPeriod, day: dt.date) -> Forecasts:
    """The weighted pipeline (won so far + open amount x stage probability)
    and the statistical forecast's expected bookings, per owner, as of ``day``."""
    found = estimate(tenant, period=period, day=day)
    cands = found.candidates.assign(
        weighted=found.candidates["amount"] * found.candidates["stage_probability"] / 100,
        expected=found.candidates["amount"] * found.scored["probability"].to_numpy(),
    )
    by_owner = cands.groupby("owner_id")[["weighted", "expected"]].sum()
    owners = np.union1d(
        np.union1d(by_owner.index.to_numpy(dtype=np.int64), found.closed.index.to_numpy(np.int64)),
        np.array(list(found.new.rate), dtype=np.int64),
    )
    closed = found.closed.reindex(owners, fill_value=0.0).to_numpy(dtype=float)
    new = np.array([found.new.rate.get(int(o), found.new.default_rate) for o in owners])
    return Forecasts(
        owners=owners,
        weighted=closed + by_owner["weighted"].reindex(owners, fill_value=0.0).to_numpy(),
        statistical=closed
        + by_owner["expected"].reindex(owners, fill_value=0.0).to_numpy()
        + new * found.new.mean_amount,
    )


def calls_as_of(tenant: Tenant, *, period: FiscalPeriod, day: dt.date) -> dict[int, Decimal]:
    """Each member's latest call for ``period`` submitted by the end of ``day``."""
    latest = (
        ForecastCall.objects.filter(
            tenant=tenant, period=period, submitted_at__lt=day_end(tenant, day)
        )
        .order_by("member_id", "-submitted_at", "-id")
        .distinct("member_id")
        .values_list("member_id", "amount")
    )
    return dict(latest)


def _rows(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    point: str,
    day: dt.date,
    method: str,
    subjects: Sequence[tuple[str, int, float, float]],
) -> list[ForecastAccuracy]:
    now = timezone.now()
    rows = []
    for kind, subject_id, forecast, actual in subjects:
        f, a = _money(forecast), _money(actual)
        rows.append(
            ForecastAccuracy(
                tenant=tenant,
                period=period,
                point=point,
                as_of=day,
                method=method,
                subject_kind=kind,
                subject_id=subject_id,
                forecast=f,
                actual=a,
                accuracy=forecast_accuracy(f, a),
                bias=forecast_bias(f, a),
                computed_at=now,
            )
        )
    return rows


def backtest_period(
    tenant: Tenant, *, period: FiscalPeriod, points: list[str] | None = None
) -> list[ForecastAccuracy]:
    """Compute and store the accuracy rows of ``period`` (replacing its rows of
    the same points). Call inside the tenant's context, for a period that has
    ended."""
    points = points or list(AsOfPoint.values)
    actual = closed_by_owner(tenant, period=period)
    tree = forecast_tree(tenant)
    rows: list[ForecastAccuracy] = []
    for point in points:
        day = point_day(period, point)
        models = model_forecasts(tenant, period=period, day=day)
        owners = np.union1d(models.owners, actual.index.to_numpy(dtype=np.int64))
        team_ids, matrix = subject_matrix(tenant, owners)
        weights = np.hstack([np.eye(len(owners)), matrix, np.ones((len(owners), 1))])
        kinds = (
            [(SubjectKind.MEMBER, int(o)) for o in owners]
            + [(SubjectKind.TEAM, t) for t in team_ids]
            + [(SubjectKind.COMPANY, 0)]
        )
        actual_all = actual.reindex(owners, fill_value=0.0).to_numpy(dtype=float) @ weights
        for method, values in (
            (AccuracyMethod.WEIGHTED, models.weighted),
            (AccuracyMethod.STATISTICAL, models.statistical),
        ):
            series = pd.Series(values, index=models.owners).reindex(owners, fill_value=0.0)
            forecast_all = series.to_numpy(dtype=float) @ weights
            subjects = [
                (kind, sid, forecast_all[j], actual_all[j]) for j, (kind, sid) in enumerate(kinds)
            ]
            rows += _rows(
                tenant, period=period, point=point, day=day, method=method, subjects=subjects
            )
        rows += _call_rows(tenant, period=period, point=point, day=day, tree=tree, actual=actual)
    with transaction.atomic():
        ForecastAccuracy.objects.filter(tenant=tenant, period=period, point__in=points).delete()
        ForecastAccuracy.objects.bulk_create(rows, batch_size=2000)
    return rows


def _call_rows(
    tenant: Tenant, *, period: FiscalPeriod, point: str, day: dt.date, tree: Tree, actual: pd.Series
) -> list[ForecastAccuracy]:
    """Rep calls against the rep's bookings, manager calls against their subtree's."""
    calls = calls_as_of(tenant, period=period, day=day)
    reps, managers = [], []
    for member_id, amount in calls.items():
        if member_id not in tree.members:
            continue
        if tree.reports.get(member_id):
            booked = float(actual.reindex(tree.subtree(member_id), fill_value=0.0).sum())
            managers.append((SubjectKind.MEMBER, member_id, float(amount), booked))
        else:
            reps.append(
                (SubjectKind.MEMBER, member_id, float(amount), float(actual.get(member_id, 0.0)))
            )
    return _rows(
        tenant, period=period, point=point, day=day, method=AccuracyMethod.REP_CALL, subjects=reps
    ) + _rows(
        tenant,
        period=period,
        point=point,
        day=day,
        method=AccuracyMethod.MANAGER_CALL,
        subjects=managers,
    )


def periods_to_backtest(
    tenant: Tenant, *, today: dt.date, count: int, kind: str = "quarter"
) -> list[FiscalPeriod]:
    """The last ``count`` periods of ``kind`` that ended before ``today``, oldest first."""
    periods = FiscalPeriod.objects.filter(tenant=tenant, kind=kind, end__lt=today).order_by(
        "-start"
    )[:count]
    return sorted(periods, key=lambda p: p.start)


@dataclass(frozen=True)
class MethodSummary:
    """One method's mean accuracy and bias over the subjects and periods with bookings."""

    method: str
    label: str
    accuracy: Decimal | None
    bias: Decimal | None
    subjects: int


def accuracy_summary(
    tenant: Tenant,
    *,
    point: str,
    subject_kind: str,
    period_ids: list[int] | None = None,
    subject_ids: list[int] | None = None,
) -> list[MethodSummary]:
    """Mean accuracy and bias per method at ``point`` over the stored rows (one query)."""
    rows = ForecastAccuracy.objects.filter(
        tenant=tenant, point=point, subject_kind=subject_kind, accuracy__isnull=False
    )
    if period_ids is not None:
        rows = rows.filter(period_id__in=period_ids)
    if subject_ids is not None:
        rows = rows.filter(subject_id__in=subject_ids)
    found = {
        r["method"]: r
        for r in rows.values("method").annotate(a=Avg("accuracy"), b=Avg("bias"), n=Count("id"))
    }
    places = Decimal("0.0001")
    return [
        MethodSummary(
            method,
            label,
            found[method]["a"].quantize(places) if method in found else None,
            found[method]["b"].quantize(places) if method in found else None,
            found[method]["n"] if method in found else 0,
        )
        for method, label in AccuracyMethod.choices
    ]


@dataclass(frozen=True)
class SubjectAccuracy:
    """One subject's mean accuracy per method over the backtested periods."""

    kind: str
    subject_id: int
    accuracy: dict[str, Decimal]
    bias: dict[str, Decimal]
    periods: int


def accuracy_by_subject(tenant: Tenant, *, point: str, scope: Q) -> list[SubjectAccuracy]:
    """Per subject in ``scope`` (a reach condition on subject kind and id),
    each method's mean accuracy and bias at ``point`` (one query)."""
    rows = (
        ForecastAccuracy.objects.filter(scope, tenant=tenant, point=point, accuracy__isnull=False)
        .values("subject_kind", "subject_id", "method")
        .annotate(a=Avg("accuracy"), b=Avg("bias"), n=Count("id"))
        .order_by("subject_kind", "subject_id", "method")
    )
    places = Decimal("0.0001")
    found: dict[tuple[str, int], SubjectAccuracy] = {}
    for r in rows:
        key = (r["subject_kind"], r["subject_id"])
        entry = found.setdefault(key, SubjectAccuracy(key[0], key[1], {}, {}, 0))
        entry.accuracy[r["method"]] = r["a"].quantize(places)
        entry.bias[r["method"]] = r["b"].quantize(places)
        found[key] = SubjectAccuracy(
            key[0], key[1], entry.accuracy, entry.bias, max(entry.periods, r["n"])
        )
    return list(found.values())
