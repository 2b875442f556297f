"""Reads of the KPI pillar: snapshots for dashboards, leaderboards and reports,
who may see whose figures, and red/amber/green from the tenant's settings.

Every function reads ``kpis_kpivalue`` snapshots (never deals) in a fixed
number of queries whatever the number of people. Call inside the tenant's context.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, overload

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from goals.models import Goal, GoalLevel
from kpis.definitions import BUILT_IN, BY_KEY, HIGHER, LOWER, KpiDef, format_value, kpi_def
from kpis.models import CustomKpi, KpiSetting, KpiValue, SubjectKind
from pipeline.models import Stage
from spm.models import FiscalPeriod, Membership, Role, TaskRun, Team, Tenant
from spm.selectors import managed_team_ids, visible_memberships

# KPIs a leaderboard may rank: a rep sees every rep's place on these. Quota and
# quota-derived coverage are private to the rep, their managers and admins.
LEADERBOARD_KPIS = [
    "bookings",
    "attainment",
    "deals_won",
    "win_rate",
    "average_deal_size",
    "sales_cycle_length",
    "activities",
    "weighted_pipeline",
]
# The KPI table of dashboards when the tenant has not chosen its own.
DEFAULT_TABLE_KPIS = [
    "bookings",
    "quota",
    "attainment",
    "win_rate",
    "average_deal_size",
    "sales_cycle_length",
    "weighted_pipeline",
    "pipeline_coverage",
    "activities",
]


# Periods ---------------------------------------------------------------------------


def periods_for_picker(tenant: Tenant) -> list[FiscalPeriod]:
    """Every period of the tenant, year first, for the period picker (one query)."""
    return list(FiscalPeriod.objects.filter(tenant=tenant).order_by("start", "-end"))


def period_selected(
    tenant: Tenant,
    *,
    periods: list[FiscalPeriod],
    period_id: str | None,
    today: dt.date | None = None,
) -> FiscalPeriod | None:
    """The period asked for, else the quarter containing today (no query)."""
    if period_id and period_id.isdigit():
        for p in periods:
            if p.pk == int(period_id):
                return p
    day = today or timezone.localdate()
    for p in periods:
        if p.kind == "quarter" and p.start <= day <= p.end:
            return p
    return periods[-1] if periods else None


# Who sees what ----------------------------------------------------------------------


def members_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[Membership]:
    """Members whose dashboard ``viewer`` may open: admin and finance all, a
    manager their subtree and self, a rep themselves."""
    return visible_memberships(tenant, viewer=viewer)


def teams_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[Team]:
    """Teams whose dashboard ``viewer`` may open: admin and finance all, a
    manager the subtrees they manage, a rep none."""
    qs = Team.objects.filter(tenant=tenant)
    if viewer.role in (Role.ADMIN, Role.FINANCE):
        return qs
    if viewer.role == Role.MANAGER:
        return qs.filter(pk__in=managed_team_ids(tenant, membership=viewer))
    return qs.none()


# Labels and RAG -----------------------------------------------------------------------


@dataclass
class Setting:
    kpi: str
    is_shown: bool = True
    direction: str = HIGHER
    target: Decimal | None = None
    green_from: Decimal | None = None
    amber_from: Decimal | None = None
    position: int = 0


def custom_labels(tenant: Tenant) -> dict[str, tuple[str, str]]:
    return {c.value_key: (c.name, c.unit) for c in CustomKpi.objects.filter(tenant=tenant)}


def settings_for(
    tenant: Tenant, *, role: str = "", team_id: int | None = None
) -> dict[str, Setting]:
    """The effective setting per KPI for a role and team: the team's row
    wins over the role's, which wins over the tenant-wide row (one query)."""
    rows = KpiSetting.objects.filter(tenant=tenant).filter(
        Q(team__isnull=True) | Q(team_id=team_id)
    )
    best: dict[str, tuple[int, KpiSetting]] = {}
    for row in rows:
        if row.role and row.role != role:
            continue
        rank = 2 if row.team_id else (1 if row.role else 0)
        if row.kpi not in best or rank > best[row.kpi][0]:
            best[row.kpi] = (rank, row)
    return {
        kpi: Setting(
            kpi=kpi,
            is_shown=row.is_shown,
            direction=row.direction,
            target=row.target,
            green_from=row.green_from,
            amber_from=row.amber_from,
            position=row.position,
        )
        for kpi, (_, row) in best.items()
    }


def rag(value: Decimal | None, setting: Setting | None) -> str:
    """'green', 'amber', 'red' or '' (no thresholds or no value)."""
    if value is None or setting is None or setting.green_from is None:
        return ""
    lower = setting.direction == LOWER
    if (value <= setting.green_from) if lower else (value >= setting.green_from):
        return "green"
    if setting.amber_from is not None and (
        (value <= setting.amber_from) if lower else (value >= setting.amber_from)
    ):
        return "amber"
    return "red"


def table_kpis(settings: dict[str, Setting], labels: dict[str, tuple[str, str]]) -> list[KpiDef]:
    """The KPIs a dashboard table shows: the tenant's shown KPIs in their order,
    else the defaults; custom KPIs follow when shown."""
    chosen = [s for s in settings.values() if s.is_shown]
    if chosen:
        chosen.sort(key=lambda s: (s.position, s.kpi))
        return [kpi_def(s.kpi, custom_labels=labels) for s in chosen]
    hidden = {k for k, s in settings.items() if not s.is_shown}
    keys = [k for k in DEFAULT_TABLE_KPIS if k not in hidden]
    keys += [k for k in labels if k not in hidden]
    return [kpi_def(k, custom_labels=labels) for k in keys]


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


@dataclass
class BoardRow:
    rank: int
    member: Membership
    value: Decimal | None
    text: str
    is_me: bool = False


def leaderboard(
    tenant: Tenant, *, period: FiscalPeriod, kpi: str, viewer: Membership, team: Team | None = None
) -> list[BoardRow]:
    """Reps ranked on ``kpi`` in ``period`` (ties share a rank; lower-is-better
    KPIs rank ascending; reps with no value come last). Everyone in the tenant
    sees the reps' leaderboard; ``team`` narrows it to a subtree. Two queries."""
    definition = kpi_def(kpi)
    reps = (
        Membership.objects.filter(tenant=tenant, role=Role.REP)
        .select_related("user", "team")
        # what the board shows (names, team); a tenant can have hundreds of reps
        .only(
            "id",
            "tenant",
            "role",
            "team",
            "user__first_name",
            "user__last_name",
            "user__email",
            "team__name",
        )
    )
    if team is not None:
        reps = reps.filter(team__path__startswith=team.path)
    members = {m.pk: m for m in reps}
    vals = dict(
        KpiValue.objects.filter(
            tenant=tenant,
            period=period,
            subject_kind=SubjectKind.MEMBER,
            kpi=kpi,
            subject_id__in=list(members),
        ).values_list("subject_id", "value")
    )
    ranked = [(vals.get(pk), m) for pk, m in members.items() if pk in vals]
    lower = definition.direction == LOWER
    with_value = sorted(
        (r for r in ranked if r[0] is not None),
        key=lambda r: (r[0] if lower else -r[0], r[1].display_name),  # type: ignore[operator]
    )
    without = sorted((r for r in ranked if r[0] is None), key=lambda r: r[1].display_name)
    rows: list[BoardRow] = []
    previous: Decimal | None = None
    rank = 0
    for index, (value, member) in enumerate(with_value, start=1):
        if value != previous:
            rank, previous = index, value
        rows.append(
            BoardRow(
                rank, member, value, format_value(value, definition.unit), member.pk == viewer.pk
            )
        )
    for value, member in without:
        rows.append(BoardRow(len(with_value) + 1, member, value, "—", member.pk == viewer.pk))
    return rows


# The tenant's reps ranked on one KPI of one period, in SQL: ties share a rank
# (one plus the reps strictly better), reps with no value come last (rank: one
# plus the reps with a value), ties and the valueless ordered by name. Only the
# rows asked for come back: positions in (lo, hi], the top ``top`` and the viewer.
BOARD_SQL = """
WITH b AS (
    SELECT m.id, v.value,
           COALESCE(NULLIF(btrim(u.first_name || ' ' || u.last_name), ''), u.email) AS name
    FROM kpis_kpivalue v
    JOIN spm_membership m ON m.tenant_id = v.tenant_id AND m.id = v.subject_id
    JOIN spm_user u ON u.id = m.user_id
    LEFT JOIN spm_team tm ON tm.id = m.team_id
    WHERE v.tenant_id = %(t)s AND v.period_id = %(p)s AND v.subject_kind = 'member'
      AND v.kpi = %(kpi)s AND m.role = 'rep'
      AND (%(path)s::text IS NULL OR left(tm.path, length(%(path)s::text)) = %(path)s::text)
),
r AS (
    SELECT id, value,
           CASE WHEN value IS NULL THEN COUNT(value) OVER () + 1
                ELSE RANK() OVER (ORDER BY value {direction} NULLS LAST) END AS rank,
           ROW_NUMBER() OVER (ORDER BY value {direction} NULLS LAST, name COLLATE "C") AS pos,
           COUNT(*) OVER () AS total
    FROM b
)
SELECT id, value, rank, pos, total FROM r
WHERE (pos > %(lo)s AND pos <= %(hi)s) OR pos <= %(top)s OR id = %(me)s
ORDER BY pos
"""


@dataclass
class BoardPage:
    """One page of a leaderboard: its rows, the top rows (for the chart), the
    viewer's row wherever it is, and a Django ``Page`` for the pager."""

    rows: list[BoardRow]
    top: list[BoardRow]
    mine: BoardRow | None
    page: Page


class _Ranked(Sequence[BoardRow]):
    """The board as a sized sequence for ``Paginator``: the length is known from
    the first query, slices come from rows already loaded."""

    def __init__(self, total: int, by_pos: dict[int, BoardRow], load: Any) -> None:
        self.total, self.by_pos, self.load = total, by_pos, load

    def __len__(self) -> int:
        return self.total

    @overload
    def __getitem__(self, index: int) -> BoardRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[BoardRow]: ...
    def __getitem__(self, index: int | slice) -> BoardRow | list[BoardRow]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop, _ = index.indices(self.total)
        wanted = range(start + 1, stop + 1)
        if any(pos not in self.by_pos for pos in wanted):
            self.by_pos.update(self.load(start, stop))
        return [self.by_pos[pos] for pos in wanted]


def leaderboard_page(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    kpi: str,
    viewer: Membership,
    team: Team | None = None,
    page: Any = 1,
    per_page: int = 25,
    top: int = 15,
) -> BoardPage:
    """The ranks of ``leaderboard`` computed in SQL, loading only the rows shown:
    page ``page`` (``Paginator.get_page`` rules: not a number -> 1, past the end
    -> the last page), the ``top`` rows and the viewer's. Two queries whatever
    the number of reps (three when the page asked for is past the end)."""
    definition = kpi_def(kpi)
    direction = "ASC" if definition.direction == LOWER else "DESC"
    sql = BOARD_SQL.format(direction=direction)
    params: dict[str, Any] = {
        "t": tenant.pk,
        "p": period.pk,
        "kpi": kpi,
        "path": team.path if team is not None else None,
        "top": top,
        "me": viewer.pk,
    }
    totals: list[int] = [0]

    def load(lo: int, hi: int) -> dict[int, BoardRow]:
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "lo": lo, "hi": hi})
            found = cursor.fetchall()
        if found:
            totals[0] = int(found[0][4])
        members = (
            Membership.objects.filter(tenant=tenant, pk__in=[row[0] for row in found])
            .select_related("user", "team")
            .only(
                "id",
                "tenant",
                "role",
                "team",
                "user__first_name",
                "user__last_name",
                "user__email",
                "team__name",
            )
            .in_bulk()
            if found
            else {}
        )
        return {
            int(pos): BoardRow(
                int(rank),
                members[pk],
                value,
                format_value(value, definition.unit) if value is not None else "—",
                pk == viewer.pk,
            )
            for pk, value, rank, pos, _total in found
        }

    try:
        number = max(1, int(page))
    except (TypeError, ValueError):
        number = 1
    loaded = load((number - 1) * per_page, number * per_page)
    ranked = _Ranked(totals[0], loaded, load)
    page_obj = Paginator(ranked, per_page).get_page(number)
    rows = list(page_obj.object_list)
    mine = next((r for r in loaded.values() if r.is_me), None)
    return BoardPage(
        rows=rows,
        top=[loaded[pos] for pos in sorted(loaded) if pos <= top],
        mine=mine if mine is not None and mine not in rows else None,
        page=page_obj,
    )


def leaderboard_position(
    tenant: Tenant, *, period: FiscalPeriod, kpi: str, member: Membership
) -> tuple[BoardRow | None, int]:
    """``member``'s row of the tenant's ``leaderboard`` on ``kpi`` (same rank:
    one plus the reps with a strictly better value) and how many reps have a
    value, without loading the board: two queries whatever the number of reps.
    The row is None for someone who is not a rep or has no value stored."""
    definition = kpi_def(kpi)
    values = KpiValue.objects.filter(
        tenant=tenant,
        period=period,
        subject_kind=SubjectKind.MEMBER,
        kpi=kpi,
        subject_id__in=Membership.objects.filter(tenant=tenant, role=Role.REP).values("pk"),
    )
    found: list[Decimal | None] = []
    if member.role == Role.REP:
        found = list(values.filter(subject_id=member.pk).values_list("value", flat=True)[:1])
    value = found[0] if found else None
    aggregates = {"size": Count("pk", filter=Q(value__isnull=False))}
    if value is not None:
        better = Q(value__lt=value) if definition.direction == LOWER else Q(value__gt=value)
        aggregates["better"] = Count("pk", filter=better)
    counts = values.aggregate(**aggregates)
    size = int(counts["size"])
    if not found:
        return None, size
    if value is None:
        return BoardRow(size + 1, member, None, "—", True), size
    row = BoardRow(
        int(counts["better"]) + 1, member, value, format_value(value, definition.unit), True
    )
    return row, size


def member_goals(tenant: Tenant, *, member: Membership) -> list[Goal]:
    """The member's own goals with their progress (one query)."""
    return list(
        Goal.objects.filter(tenant=tenant, level=GoalLevel.MEMBER, owner_membership=member)
        .exclude(status="draft")
        .order_by("due_date", "id")
    )


def team_goals(tenant: Tenant, *, team: Team) -> list[Goal]:
    return list(
        Goal.objects.filter(tenant=tenant, level=GoalLevel.TEAM, owner_team=team).order_by(
            "due_date", "id"
        )
    )


def kpi_runs(tenant: Tenant, *, limit: int = 30) -> list[TaskRun]:
    """The latest KPI recompute runs, newest first (one query)."""
    return list(
        TaskRun.objects.filter(tenant=tenant, kind__startswith="kpis.")
        .select_related("created_by__user")
        .order_by("-created_at", "-id")[:limit]
    )


def builtin_choices() -> list[tuple[str, str]]:
    return [(k.key, k.label) for k in BUILT_IN]


def label_of(key: str, labels: dict[str, tuple[str, str]] | None = None) -> str:
    return BY_KEY[key].label if key in BY_KEY else kpi_def(key, custom_labels=labels).label
