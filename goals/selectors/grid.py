"""The quota grid: teams and reps by periods, with effective and summed amounts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from goals.models import Measure, Quota
from goals.selectors.quotas import ZERO, effective_member_quota, quota_scope
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant
from spm.periods import active_days


@dataclass
class GridCell:
    period: FiscalPeriod
    quota: Quota | None = None
    effective: Decimal | None = None
    rolled_up: Decimal | None = None
    active_days: int = 0

    @property
    def amount(self) -> Decimal | None:
        return self.quota.amount if self.quota is not None else None

    @property
    def is_prorated(self) -> bool:
        return self.quota is not None and self.effective != self.quota.amount

    @property
    def value(self) -> Decimal:
        """What counts in the totals: the prorated explicit quota, else the roll-up."""
        if self.effective is not None:
            return self.effective
        return self.rolled_up or ZERO


@dataclass
class GridRow:
    key: str
    label: str
    kind: str  # "member" or "team"
    cells: list[GridCell]
    membership: Membership | None = None
    team: Team | None = None
    editable: bool = False
    note: str = ""

    @property
    def total(self) -> Decimal:
        return sum((c.value for c in self.cells), ZERO)


@dataclass
class GridSection:
    team: Team
    team_row: GridRow
    member_rows: list[GridRow]
    members_sum: list[Decimal]
    gap: list[Decimal | None]
    targets: str  # "members" or "teams": what an allocation of this team fills

    @property
    def members_total(self) -> Decimal:
        return sum(self.members_sum, ZERO)

    @property
    def gap_total(self) -> Decimal | None:
        gaps = [g for g in self.gap if g is not None]
        return sum(gaps, ZERO) if gaps else None


@dataclass
class QuotaGrid:
    fiscal_year: int
    kind: str
    measure: str
    periods: list[FiscalPeriod]
    sections: list[GridSection]
    column_totals: list[Decimal] = field(default_factory=list)
    closed: set[int] = field(default_factory=set)

    @property
    def grand_total(self) -> Decimal:
        return sum(self.column_totals, ZERO)

    def rows(self) -> list[GridRow]:
        out: list[GridRow] = []
        for s in self.sections:
            out.append(s.team_row)
            out.extend(s.member_rows)
        return out


def _children_kinds(kind: str) -> list[str]:
    return {"year": ["quarter", "month"], "quarter": ["month"], "month": []}[kind]


def quota_grid(
    tenant: Tenant,
    *,
    viewer: Membership,
    fiscal_year: int,
    kind: str = "month",
    measure: str = Measure.BOOKINGS,
) -> QuotaGrid:
    """The quota grid of ``viewer``'s subtree for one fiscal year.

    Columns are the year's periods of ``kind``; rows are grouped by team: the
    team's top-down quota, then its reps, then the sum of the reps in the
    team's whole subtree (bottom-up) and the gap. Member quotas are prorated to
    active days. Cells without an explicit quota show the roll-up of the
    shorter periods inside them (months roll up into quarters and the year).
    A fixed number of queries whatever the size of the subtree.
    """
    scope = quota_scope(tenant, viewer=viewer)
    all_periods = list(
        FiscalPeriod.objects.filter(tenant=tenant, fiscal_year=fiscal_year).order_by("start")
    )
    periods = [p for p in all_periods if p.kind == kind]
    teams_qs = Team.objects.filter(tenant=tenant).select_related("manager__user").order_by("path")
    if scope.read_teams is not None:
        teams_qs = teams_qs.filter(pk__in=scope.read_teams)
    teams = list(teams_qs)
    year_start = periods[0].start if periods else dt.date(fiscal_year, 1, 1)
    year_end = periods[-1].end if periods else dt.date(fiscal_year, 12, 31)
    reps = list(
        Membership.objects.filter(tenant=tenant, role=Role.REP, team__in=[t.pk for t in teams])
        .filter(start_date__lte=year_end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=year_start))
        .select_related("user", "team")
        .order_by("user__last_name", "user__first_name", "id")
    )
    quotas = list(
        Quota.objects.filter(
            tenant=tenant, measure=measure, period__in=[p.pk for p in all_periods]
        ).filter(Q(membership__in=[r.pk for r in reps]) | Q(team__in=[t.pk for t in teams]))
    )
    period_by_id = {p.pk: p for p in all_periods}
    member_by_id = {r.pk: r for r in reps}
    explicit: dict[tuple[str, int], Quota] = {}
    for q in quotas:
        q.period = period_by_id[q.period_id]
        if q.membership_id:
            q.membership = member_by_id[q.membership_id]
        explicit[(q.subject_key, q.period_id)] = q

    def effective(key: str, member: Membership | None, period: FiscalPeriod) -> Decimal | None:
        q = explicit.get((key, period.pk))
        if q is not None:
            return effective_member_quota(q) if member is not None else q.amount
        inner = [
            p
            for p in all_periods
            if p.kind in _children_kinds(period.kind)
            and period.start <= p.start
            and p.end <= period.end
        ]
        for child_kind in _children_kinds(period.kind):
            parts = [effective(key, member, p) for p in inner if p.kind == child_kind]
            if any(v is not None for v in parts):
                return sum((v for v in parts if v is not None), ZERO)
        return None

    def make_row(
        key: str, label: str, kind_: str, member: Membership | None = None, team: Team | None = None
    ) -> GridRow:
        cells = []
        for p in periods:
            q = explicit.get((key, p.pk))
            cell = GridCell(period=p, quota=q)
            if q is not None:
                cell.effective = effective_member_quota(q) if member is not None else q.amount
            else:
                cell.rolled_up = effective(key, member, p)
            if member is not None:
                cell.active_days = active_days(p.start, p.end, member.start_date, member.end_date)
            cells.append(cell)
        membership_id = member.pk if member else None
        team_id = team.pk if team else None
        row = GridRow(
            key=key,
            label=label,
            kind=kind_,
            cells=cells,
            membership=member,
            team=team,
            editable=scope.can_write(membership_id=membership_id, team_id=team_id),
        )
        if member is not None:
            notes = []
            if member.start_date > year_start:
                notes.append(f"joined {member.start_date:%b %-d, %Y}")
            if member.end_date is not None and member.end_date < year_end:
                notes.append(f"left {member.end_date:%b %-d, %Y}")
            row.note = ", ".join(notes)
        return row

    reps_by_team: dict[int, list[Membership]] = defaultdict(list)
    for r in reps:
        reps_by_team[r.team_id].append(r)  # type: ignore[index]
    member_rows = {r.pk: make_row(f"m{r.pk}", r.display_name, "member", member=r) for r in reps}
    sections = []
    closed = {p.pk for p in all_periods if p.is_closed}
    for team in teams:
        team_row = make_row(f"t{team.pk}", team.name, "team", team=team)
        for cell in team_row.cells:
            # A team row shows only its own top-down figure, never a roll-up of the
            # team's months: the bottom-up figure is the members' sum below it.
            if cell.quota is None:
                cell.rolled_up = None
        subtree_reps = [r for r in reps if r.team is not None and r.team.path.startswith(team.path)]
        sums = [
            sum((member_rows[r.pk].cells[i].value for r in subtree_reps), ZERO)
            for i in range(len(periods))
        ]
        gap = [
            (cell.quota.amount - sums[i]) if cell.quota is not None else None
            for i, cell in enumerate(team_row.cells)
        ]
        direct = reps_by_team.get(team.pk, [])
        sections.append(
            GridSection(
                team=team,
                team_row=team_row,
                member_rows=[member_rows[r.pk] for r in direct],
                members_sum=sums,
                gap=gap,
                targets="members" if direct else "teams",
            )
        )
    column_totals = [
        sum((row.cells[i].value for row in member_rows.values()), ZERO) for i in range(len(periods))
    ]
    return QuotaGrid(
        fiscal_year=fiscal_year,
        kind=kind,
        measure=measure,
        periods=periods,
        sections=sections,
        column_totals=column_totals,
        closed=closed,
    )
