"""Reads of the goals pillar that span roles, periods and models."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db.models import Prefetch, Q, QuerySet

from goals.engine import mbo_score, prorate
from goals.models import Goal, GoalLevel, Measure, Objective, ObjectiveScore, Quota
from spm import selectors as core_selectors
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant
from spm.periods import active_days

ZERO = Decimal("0.00")


# Scope -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaScope:
    """Whose quotas a member may read and write. ``None`` means every one."""

    read_members: frozenset[int] | None
    read_teams: frozenset[int] | None
    write_members: frozenset[int] | None
    write_teams: frozenset[int] | None

    def can_read(self, *, membership_id: int | None, team_id: int | None) -> bool:
        if membership_id is not None:
            return self.read_members is None or membership_id in self.read_members
        return self.read_teams is None or team_id in self.read_teams

    def can_write(self, *, membership_id: int | None, team_id: int | None) -> bool:
        if membership_id is not None:
            return self.write_members is None or membership_id in self.write_members
        return self.write_teams is None or team_id in self.write_teams

    @property
    def can_write_any(self) -> bool:
        return self.write_members is None or bool(self.write_members) or bool(self.write_teams)


def quota_scope(tenant: Tenant, *, viewer: Membership) -> QuotaScope:
    """Admins read and write every quota; finance reads every quota; a manager
    reads their subtree's and their own, and writes the quotas of the teams
    they manage and of the people in them (not their own); a rep reads their own."""
    if viewer.role == Role.ADMIN:
        return QuotaScope(None, None, None, None)
    if viewer.role == Role.FINANCE:
        return QuotaScope(None, None, frozenset(), frozenset())
    if viewer.role == Role.MANAGER:
        team_ids = frozenset(core_selectors.managed_team_ids(tenant, membership=viewer))
        member_ids = frozenset(
            Membership.objects.filter(tenant=tenant, team_id__in=team_ids).values_list(
                "id", flat=True
            )
        )
        return QuotaScope(member_ids | {viewer.pk}, team_ids, member_ids - {viewer.pk}, team_ids)
    return QuotaScope(frozenset({viewer.pk}), frozenset(), frozenset(), frozenset())


def quotas_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[Quota]:
    """The quotas ``viewer`` may read (see ``quota_scope``)."""
    scope = quota_scope(tenant, viewer=viewer)
    qs = Quota.objects.filter(tenant=tenant)
    if scope.read_members is None:
        return qs
    return qs.filter(
        Q(membership_id__in=scope.read_members) | Q(team_id__in=scope.read_teams or frozenset())
    )


# Effective quotas ---------------------------------------------------------------------


def effective_member_quota(quota: Quota) -> Decimal:
    """A member quota prorated to the member's active days in its period."""
    m, p = quota.membership, quota.period
    if m is None:
        raise ValueError("effective_member_quota() needs a member quota.")
    return prorate(
        quota.amount,
        period_start=p.start,
        period_end=p.end,
        member_start=m.start_date,
        member_end=m.end_date,
    )


# The quota grid -----------------------------------------------------------------------


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


def allocation_targets(
    tenant: Tenant, *, team: Team, period: FiscalPeriod
) -> list[Membership | Team]:
    """Who a team's quota is allocated to: its reps active in the period, in the
    team's order (last name); a team without reps of its own allocates to its
    sub-teams (by name)."""
    reps = list(
        Membership.objects.filter(
            tenant=tenant, team=team, role=Role.REP, start_date__lte=period.end
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=period.start))
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "id")
    )
    if reps:
        return list(reps)
    return list(Team.objects.filter(tenant=tenant, parent=team).order_by("name"))


def rep_ids_by_subtree(tenant: Tenant, *, teams: list[Team]) -> dict[int, list[int]]:
    """Team id -> ids of the reps anywhere in that team's subtree (one query)."""
    if not teams:
        return {}
    condition = reduce(or_, (Q(team__path__startswith=t.path) for t in teams))
    rows = list(
        Membership.objects.filter(condition, tenant=tenant, role=Role.REP).values_list(
            "id", "team__path"
        )
    )
    return {t.pk: [pk for pk, path in rows if path.startswith(t.path)] for t in teams}


def previous_period(tenant: Tenant, *, period: FiscalPeriod) -> FiscalPeriod | None:
    """The period of the same kind just before ``period``."""
    return (
        FiscalPeriod.objects.filter(tenant=tenant, kind=period.kind, end__lt=period.start)
        .order_by("-start")
        .first()
    )


def quota_history(tenant: Tenant, *, quota: Quota) -> QuerySet:
    return quota.changes.filter(tenant=tenant).select_related("changed_by")


# Goals --------------------------------------------------------------------------------


def goals_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[Goal]:
    """Admins and finance see every goal. Everyone sees company goals and the
    goals of the teams above them; a manager also sees the goals of the teams
    they manage and of the people in them; everyone sees their own."""
    qs = Goal.objects.filter(tenant=tenant)
    if viewer.role in (Role.ADMIN, Role.FINANCE):
        return qs
    ancestor_ids: set[int] = set()
    if viewer.team is not None:
        ancestor_ids = {int(x) for x in viewer.team.path.strip("/").split("/") if x}
    conditions = [Q(level=GoalLevel.COMPANY), Q(owner_membership=viewer)]
    managed: set[int] = set()
    if viewer.role == Role.MANAGER:
        managed = core_selectors.managed_team_ids(tenant, membership=viewer)
        conditions.append(Q(owner_membership__team_id__in=managed))
    team_ids = ancestor_ids | managed
    if team_ids:
        conditions.append(Q(owner_team_id__in=team_ids))
    return qs.filter(reduce(or_, conditions))


def goals_writable_owner_scope(
    tenant: Tenant, *, viewer: Membership
) -> tuple[set[int] | None, set[int] | None]:
    """(member ids, team ids) ``viewer`` may own goals for; None means all.
    Admins: all, including company goals. Managers: the teams they manage and
    the people in them, and themselves. Reps: themselves."""
    if viewer.role == Role.ADMIN:
        return None, None
    if viewer.role == Role.MANAGER:
        teams = core_selectors.managed_team_ids(tenant, membership=viewer)
        members = set(
            Membership.objects.filter(tenant=tenant, team_id__in=teams).values_list("id", flat=True)
        )
        return members | {viewer.pk}, teams
    if viewer.role == Role.REP:
        return {viewer.pk}, set()
    return set(), set()


@dataclass
class GoalNode:
    goal: Goal
    depth: int
    children: list[GoalNode] = field(default_factory=list)


def goal_tree(tenant: Tenant, *, viewer: Membership) -> list[GoalNode]:
    """The alignment tree of the goals ``viewer`` sees, depth-first: company
    goals first, each followed by the goals that support it. A goal whose
    parent is out of sight starts a tree of its own. Two queries."""
    goals = list(
        goals_visible(tenant, viewer=viewer)
        .select_related("owner_membership__user", "owner_team")
        .order_by("level", "due_date", "id")
    )
    by_id = {g.pk: GoalNode(goal=g, depth=0) for g in goals}
    roots: list[GoalNode] = []
    for g in goals:
        node = by_id[g.pk]
        parent = by_id.get(g.parent_id) if g.parent_id else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    flat: list[GoalNode] = []

    def walk(node: GoalNode, depth: int) -> None:
        node.depth = depth
        flat.append(node)
        for child in node.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return flat


# Objectives ---------------------------------------------------------------------------


def objectives_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[Objective]:
    """Objectives of the members ``viewer`` may see (spm visible_memberships)."""
    members = core_selectors.visible_memberships(tenant, viewer=viewer)
    return Objective.objects.filter(tenant=tenant, membership__in=members)


def objective_scores_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[ObjectiveScore]:
    members = core_selectors.visible_memberships(tenant, viewer=viewer)
    return ObjectiveScore.objects.filter(tenant=tenant, objective__membership__in=members)


@dataclass
class ObjectiveSet:
    membership: Membership
    period: FiscalPeriod
    objectives: list[Objective]

    @property
    def weight_total(self) -> Decimal:
        return sum((o.weight for o in self.objectives), Decimal(0))

    @property
    def is_complete(self) -> bool:
        return self.weight_total == 1

    @property
    def scored(self) -> bool:
        return bool(self.objectives) and all(o.current_score is not None for o in self.objectives)

    @property
    def score(self) -> Decimal | None:
        """The weighted score once every objective is scored and the weights add up to 100%."""
        if not self.scored or not self.is_complete:
            return None
        return mbo_score([(o.weight, o.current_score or Decimal(0)) for o in self.objectives])


def objective_sets(
    tenant: Tenant,
    *,
    viewer: Membership,
    period: FiscalPeriod | None = None,
    membership: Membership | None = None,
) -> list[ObjectiveSet]:
    """Each (member, period) set of objectives ``viewer`` may see, with scores. Two queries."""
    qs = (
        objectives_visible(tenant, viewer=viewer)
        .select_related("membership__user", "period")
        .prefetch_related(Prefetch("scores", queryset=ObjectiveScore.objects.filter(tenant=tenant)))
        .order_by("period__start", "membership__user__last_name", "membership_id", "position", "id")
    )
    if period is not None:
        qs = qs.filter(period=period)
    if membership is not None:
        qs = qs.filter(membership=membership)
    sets: dict[tuple[int, int], ObjectiveSet] = {}
    for obj in qs:
        scores = list(obj.scores.all())
        obj.current_score = scores[0].score if scores else None  # type: ignore[attr-defined]
        obj.current_score_row = scores[0] if scores else None  # type: ignore[attr-defined]
        obj.weighted_score = (  # type: ignore[attr-defined]
            obj.weight * scores[0].score if scores else None
        )
        key = (obj.membership_id, obj.period_id)
        if key not in sets:
            sets[key] = ObjectiveSet(membership=obj.membership, period=obj.period, objectives=[])
        sets[key].objectives.append(obj)
    return list(sets.values())
