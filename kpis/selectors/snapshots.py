"""Snapshot reads for dashboards: values, series, pipeline by stage, goals and runs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from goals.models import Goal, GoalLevel
from kpis.models import DirtyPeriod, KpiValue
from pipeline.models import Stage
from spm.models import FiscalPeriod, Membership, TaskRun, Team, Tenant

# Snapshot reads ----------------------------------------------------------------------


@dataclass
class Cell:
    value: Decimal | None
    text: str
    rag: str = ""


def values_of(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    kind: str,
    subject_ids: list[int],
    kpis: list[str] | None = None,
) -> dict[int, dict[str, Decimal | None]]:
    """subject id -> kpi -> value for one period (one query)."""
    qs = KpiValue.objects.filter(
        tenant=tenant, period=period, subject_kind=kind, subject_id__in=subject_ids
    )
    if kpis is not None:
        qs = qs.filter(kpi__in=kpis)
    out: dict[int, dict[str, Decimal | None]] = defaultdict(dict)
    for sid, kpi, value in qs.values_list("subject_id", "kpi", "value"):
        out[sid][kpi] = value
    return out


def computed_at(
    tenant: Tenant, *, period: FiscalPeriod, kind: str, subject_id: int
) -> dt.datetime | None:
    row = (
        KpiValue.objects.filter(
            tenant=tenant, period=period, subject_kind=kind, subject_id=subject_id, kpi="bookings"
        )
        .values_list("computed_at", flat=True)
        .first()
    )
    return row


@dataclass
class SeriesPoint:
    period: FiscalPeriod
    values: dict[str, Decimal | None] = field(default_factory=dict)


def series(
    tenant: Tenant, *, kind: str, subject_id: int, kpis: list[str], periods: list[FiscalPeriod]
) -> list[SeriesPoint]:
    """One subject's KPIs over ``periods`` (one query)."""
    points = {p.pk: SeriesPoint(period=p) for p in periods}
    rows = KpiValue.objects.filter(
        tenant=tenant,
        subject_kind=kind,
        subject_id=subject_id,
        kpi__in=kpis,
        period_id__in=list(points),
    ).values_list("period_id", "kpi", "value")
    for pid, kpi, value in rows:
        points[pid].values[kpi] = value
    return [points[p.pk] for p in periods]


def months_of_year(periods: list[FiscalPeriod], fiscal_year: int) -> list[FiscalPeriod]:
    return [p for p in periods if p.kind == "month" and p.fiscal_year == fiscal_year]


@dataclass
class StageRow:
    stage: Stage
    raw: Decimal
    weighted: Decimal
    entered: Decimal | None = None
    conversion: Decimal | None = None


def stage_rows(
    tenant: Tenant, *, values: dict[str, Decimal | None], stages: list[Stage]
) -> list[StageRow]:
    """Pipeline and conversion per open stage from a subject's values (no query)."""
    zero = Decimal("0.00")
    rows = []
    for stage in stages:
        if stage.is_won or stage.is_lost:
            continue
        rows.append(
            StageRow(
                stage=stage,
                raw=values.get(f"stage_pipeline:{stage.pk}") or zero,
                weighted=values.get(f"stage_weighted:{stage.pk}") or zero,
                entered=values.get(f"stage_entered:{stage.pk}"),
                conversion=values.get(f"stage_conversion:{stage.pk}"),
            )
        )
    return rows


def open_stages(tenant: Tenant) -> list[Stage]:
    return list(
        Stage.objects.filter(tenant=tenant, is_won=False, is_lost=False)
        .select_related("pipeline")
        .order_by("pipeline__position", "pipeline_id", "position")
    )


def member_goals(tenant: Tenant, *, member: Membership, period: FiscalPeriod) -> list[Goal]:
    """The member's own goals running at some day of ``period``, with their
    progress (one query)."""
    return list(
        Goal.objects.filter(
            tenant=tenant,
            level=GoalLevel.MEMBER,
            owner_membership=member,
            start_date__lte=period.end,
            due_date__gte=period.start,
        )
        .exclude(status="draft")
        .order_by("due_date", "id")
    )


def team_goals(tenant: Tenant, *, team: Team, period: FiscalPeriod) -> list[Goal]:
    """The team's goals running at some day of ``period`` (one query)."""
    return list(
        Goal.objects.filter(
            tenant=tenant,
            level=GoalLevel.TEAM,
            owner_team=team,
            start_date__lte=period.end,
            due_date__gte=period.start,
        ).order_by("due_date", "id")
    )


def kpi_runs(tenant: Tenant, *, limit: int = 30) -> list[TaskRun]:
    """The latest KPI recompute runs, newest first (one query)."""
    return list(
        TaskRun.objects.filter(tenant=tenant, kind__startswith="kpis.")
        .select_related("created_by__user")
        .order_by("-created_at", "-id")[:limit]
    )


def kpi_changes_after_close(tenant: Tenant) -> list[DirtyPeriod]:
    """Closed periods whose inputs changed after their close (a deal of a
    closed month won late, a quota moved): their values stay frozen, and the
    mark, with the time of the first such change, stays as the record the
    runs page shows. Oldest period first (one query)."""
    return list(
        DirtyPeriod.objects.filter(tenant=tenant, period__is_closed=True)
        .select_related("period")
        .order_by("period__start", "-period__end")
    )
