"""The quota grid: teams and reps by periods, with effective and summed amounts.

Which yearly figure is right: the one the KPI engine measures attainment
against (docs/formulas.md, the quota KPI): the year's own quota, else its
quarters' (each prorated over the member's active days in the quarter), else
its months'. Every row's total is that figure, in every view, so the month and
quarter views agree. The months view shows each quarter beside its months,
so where the months add up to something else than the quarter (a quarter
quota set on its own, or prorated over the quarter rather than per month) the
grid shows both.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from goals.engine import prorate
from goals.models import Measure, Quota
from goals.selectors.quotas import ZERO, QuotaScope, quota_scope
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant
from spm.periods import active_days

CHILD_KINDS = {"year": ["quarter", "month"], "quarter": ["month"], "month": []}


@dataclass
class GridCell:
    period: FiscalPeriod
    amount: Decimal | None = None  # the explicit quota's amount
    quota_id: int | None = None
    effective: Decimal | None = None
    rolled_up: Decimal | None = None
    active_days: int = 0
    # The explicit quota itself (its version goes with an edit), on the rows
    # that are shown: ``QuotaGrid.records_attach``.
    quota: Quota | None = None

    @property
    def is_prorated(self) -> bool:
        return self.amount is not None and self.effective != self.amount

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
    total: Decimal | None = None  # the year's figure (module docstring)
    membership: Membership | None = None
    team: Team | None = None
    editable: bool = False
    note: str = ""


@dataclass
class GridSection:
    team: Team
    team_row: GridRow
    member_rows: list[GridRow]
    members_sum: list[Decimal]
    members_total: Decimal
    gap: list[Decimal | None]
    targets: str  # "members" or "teams": what an allocation of this team fills

    @property
    def gap_total(self) -> Decimal | None:
        total = self.team_row.total
        return None if total is None else total - self.members_total


@dataclass
class QuotaGrid:
    fiscal_year: int
    kind: str
    measure: str
    periods: list[FiscalPeriod]  # the columns: the kind's periods (and quarters in months)
    sections: list[GridSection]
    column_totals: list[Decimal] = field(default_factory=list)
    grand_total: Decimal = ZERO
    closed: set[int] = field(default_factory=set)

    @property
    def kind_periods(self) -> list[FiscalPeriod]:
        """The columns of the grid's own kind (the CSV's columns)."""
        return [p for p in self.periods if p.kind == self.kind]

    def rows(self) -> list[GridRow]:
        out: list[GridRow] = []
        for s in self.sections:
            out.append(s.team_row)
            out.extend(s.member_rows)
        return out

    def records_attach(self, tenant: Tenant, rows: list[GridRow]) -> None:
        """Give the explicit cells of ``rows`` (the ones shown) their quota
        records, in one query: the grid is built from amounts alone."""
        cells = {cell.quota_id: cell for row in rows for cell in row.cells if cell.quota_id}
        for quota in Quota.objects.filter(tenant=tenant, pk__in=list(cells)):
            cells[quota.pk].quota = quota


@dataclass
class _Data:
    """Everything the grid reads, in a fixed number of queries."""

    periods: list[FiscalPeriod]  # every period of the fiscal year
    columns: list[FiscalPeriod]
    year: FiscalPeriod | None
    teams: list[Team]
    reps: list[Membership]
    explicit: dict[tuple[str, int], _Explicit]
    scope: QuotaScope

    def effective(
        self, key: str, member: Membership | None, period: FiscalPeriod
    ) -> Decimal | None:
        """The period's explicit quota (a member's prorated), else the sum of
        the next shorter kind inside it that has any (quarters, then months)."""
        q = self.explicit.get((key, period.pk))
        if q is not None:
            return _prorated(q.amount, member, period) if member is not None else q.amount
        for child_kind in CHILD_KINDS[period.kind]:
            parts = [
                self.effective(key, member, p)
                for p in self.periods
                if p.kind == child_kind and period.start <= p.start and p.end <= period.end
            ]
            if any(v is not None for v in parts):
                return sum((v for v in parts if v is not None), ZERO)
        return None


@dataclass(frozen=True)
class _Explicit:
    """An explicit quota of the grid: its id and amount."""

    quota_id: int
    amount: Decimal


def _prorated(amount: Decimal, member: Membership, period: FiscalPeriod) -> Decimal:
    """A member's quota prorated to their active days in ``period``."""
    return prorate(
        amount,
        period_start=period.start,
        period_end=period.end,
        member_start=member.start_date,
        member_end=member.end_date,
    )


def _columns(periods: list[FiscalPeriod], kind: str) -> list[FiscalPeriod]:
    """The kind's periods in order; in the months view each quarter follows its
    three months."""
    if kind != "month":
        return [p for p in periods if p.kind == kind]
    columns: list[FiscalPeriod] = []
    for quarter in (p for p in periods if p.kind == "quarter"):
        columns.extend(
            p
            for p in periods
            if p.kind == "month" and quarter.start <= p.start and p.end <= quarter.end
        )
        columns.append(quarter)
    return columns


def _load(
    tenant: Tenant, *, viewer: Membership, fiscal_year: int, kind: str, measure: str
) -> _Data:
    scope = quota_scope(tenant, viewer=viewer)
    periods = list(
        FiscalPeriod.objects.filter(tenant=tenant, fiscal_year=fiscal_year).order_by(
            "start", "-end"
        )
    )
    teams_qs = Team.objects.filter(tenant=tenant).select_related("manager__user").order_by("path")
    if scope.read_teams is not None:
        teams_qs = teams_qs.filter(pk__in=scope.read_teams)
    teams = list(teams_qs)
    year = next((p for p in periods if p.kind == "year"), None)
    year_start = year.start if year else dt.date(fiscal_year, 1, 1)
    year_end = year.end if year else dt.date(fiscal_year, 12, 31)
    reps = list(
        Membership.objects.filter(tenant=tenant, role=Role.REP, team__in=[t.pk for t in teams])
        .filter(start_date__lte=year_end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=year_start))
        .select_related("user", "team")
        .order_by("user__last_name", "user__first_name", "id")
    )
    quotas = (
        Quota.objects.filter(tenant=tenant, measure=measure, period__in=[p.pk for p in periods])
        .filter(Q(membership__in=[r.pk for r in reps]) | Q(team__in=[t.pk for t in teams]))
        .values_list("pk", "membership_id", "team_id", "period_id", "amount")
    )
    explicit = {
        (f"m{member_id}" if member_id else f"t{team_id}", period_id): _Explicit(pk, amount)
        for pk, member_id, team_id, period_id, amount in quotas
    }
    return _Data(periods, _columns(periods, kind), year, teams, reps, explicit, scope)


def _member_note(member: Membership, year: FiscalPeriod | None) -> str:
    notes = []
    if year is not None and member.start_date > year.start:
        notes.append(f"joined {member.start_date:%b %-d, %Y}")
    if year is not None and member.end_date is not None and member.end_date < year.end:
        notes.append(f"left {member.end_date:%b %-d, %Y}")
    return ", ".join(notes)


def _member_row(data: _Data, member: Membership) -> GridRow:
    key = f"m{member.pk}"
    cells = []
    for p in data.columns:
        q = data.explicit.get((key, p.pk))
        cell = GridCell(
            period=p,
            active_days=active_days(p.start, p.end, member.start_date, member.end_date),
        )
        if q is not None:
            cell.amount, cell.quota_id = q.amount, q.quota_id
            cell.effective = _prorated(q.amount, member, p)
        else:
            cell.rolled_up = data.effective(key, member, p)
        cells.append(cell)
    return GridRow(
        key=key,
        label=member.display_name,
        kind="member",
        cells=cells,
        total=(data.effective(key, member, data.year) if data.year else None) or ZERO,
        membership=member,
        editable=data.scope.can_write(membership_id=member.pk, team_id=None),
        note=_member_note(member, data.year),
    )


def _team_row(data: _Data, team: Team) -> GridRow:
    """A team row shows only its own top-down figures, never a roll-up of its
    months into a quarter: the bottom-up figure is the reps' sum below it."""
    key = f"t{team.pk}"
    cells = []
    for p in data.columns:
        q = data.explicit.get((key, p.pk))
        cells.append(
            GridCell(period=p, amount=q.amount, quota_id=q.quota_id, effective=q.amount)
            if q is not None
            else GridCell(period=p)
        )
    return GridRow(
        key=key,
        label=team.name,
        kind="team",
        cells=cells,
        total=data.effective(key, None, data.year) if data.year else None,
        team=team,
        editable=data.scope.can_write(membership_id=None, team_id=team.pk),
    )


def _section(
    data: _Data,
    team: Team,
    member_rows: dict[int, GridRow],
    reps_by_team: dict[int, list[Membership]],
    subtree_rows: dict[int, list[GridRow]],
) -> GridSection:
    team_row = _team_row(data, team)
    subtree = subtree_rows.get(team.pk, [])
    sums = [sum((row.cells[i].value for row in subtree), ZERO) for i in range(len(data.columns))]
    direct = reps_by_team.get(team.pk, [])
    return GridSection(
        team=team,
        team_row=team_row,
        member_rows=[member_rows[r.pk] for r in direct],
        members_sum=sums,
        members_total=sum((row.total or ZERO for row in subtree), ZERO),
        gap=[
            (cell.amount - sums[i]) if cell.amount is not None else None
            for i, cell in enumerate(team_row.cells)
        ],
        targets="members" if direct else "teams",
    )


def _subtree_rows(data: _Data, member_rows: dict[int, GridRow]) -> dict[int, list[GridRow]]:
    """Each team's reps' rows, its sub-teams' included, in the reps' order: a
    rep counts in every team of their team's path ("/1/4/9/")."""
    rows: dict[int, list[GridRow]] = defaultdict(list)
    for rep in data.reps:
        if rep.team is not None:
            for team_id in rep.team.path.strip("/").split("/"):
                rows[int(team_id)].append(member_rows[rep.pk])
    return rows


def quota_grid(
    tenant: Tenant,
    *,
    viewer: Membership,
    fiscal_year: int,
    kind: str = "quarter",
    measure: str = Measure.BOOKINGS,
) -> QuotaGrid:
    """The quota grid of ``viewer``'s subtree for one fiscal year.

    Columns are the year's periods of ``kind`` (in the months view each
    quarter follows its months); rows are grouped by team: the team's top-down
    quota, then its reps, then the sum of the reps in the team's whole subtree
    (bottom-up) and the gap. Member quotas are prorated to active days. Cells
    without an explicit quota show the roll-up of the shorter periods inside
    them. A row's total is its year figure (see the module docstring). A fixed
    number of queries whatever the size of the subtree.
    """
    data = _load(tenant, viewer=viewer, fiscal_year=fiscal_year, kind=kind, measure=measure)
    reps_by_team: dict[int, list[Membership]] = defaultdict(list)
    for r in data.reps:
        reps_by_team[r.team_id].append(r)  # type: ignore[index]
    member_rows = {r.pk: _member_row(data, r) for r in data.reps}
    subtree_rows = _subtree_rows(data, member_rows)
    sections = [
        _section(data, team, member_rows, reps_by_team, subtree_rows) for team in data.teams
    ]
    return QuotaGrid(
        fiscal_year=fiscal_year,
        kind=kind,
        measure=measure,
        periods=data.columns,
        sections=sections,
        column_totals=[
            sum((row.cells[i].value for row in member_rows.values()), ZERO)
            for i in range(len(data.columns))
        ],
        grand_total=sum((row.total or ZERO for row in member_rows.values()), ZERO),
        closed={p.pk for p in data.periods if p.is_closed},
    )
