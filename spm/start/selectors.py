"""What a member's start page shows: their figures and what needs them today.

- a rep: bookings credited this quarter and this fiscal year, the
  commission published to date in the fiscal year (by period), quota,
  attainment and the gap to quota, open pipeline and coverage, their deals
  needing attention and their goals behind pace;
- a manager: the same figures for the team they manage, its reps by
  attainment, the subtree's deals needing attention, reps without a quota,
  goals behind pace;
- admins and finance: the company's figures, the latest KPI runs, people
  without a team, reps without a quota and the deals needing attention.

Figures come from the KPI snapshots of the current quarter and year; a deal
needs attention when it is open and past its expected close date or has had
no stage change for the tenant's ``stalled_after_days``. A fixed number of
queries per role, whatever the number of people or deals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet

from coaching.models import ActionItem
from coaching.selectors import overdue_actions
from goals.models import Goal, GoalLevel, GoalStatus
from goals.selectors import goals_visible
from incentives.selectors import commission_to_date
from kpis.models import SubjectKind
from kpis.selectors import kpi_runs, values_of
from pipeline.models import Deal
from pipeline.selectors import deals_needing_attention
from spm.models import FiscalPeriod, Membership, Role, TaskRun, Team, Tenant
from spm.permissions import READ_ALL
from spm.reach import Reach
from spm.selectors import period_containing

FIGURES = ["bookings", "quota", "attainment", "open_pipeline", "pipeline_coverage"]
ATTENTION_LIMIT = 10


@dataclass(frozen=True)
class Figures:
    """One subject's headline figures in the current quarter and year."""

    bookings: Decimal | None
    quota: Decimal | None
    attainment: Decimal | None
    open_pipeline: Decimal | None
    coverage: Decimal | None
    year_bookings: Decimal | None

    @property
    def gap(self) -> Decimal | None:
        """What is left to book to reach the quota (never below zero)."""
        if self.quota is None:
            return None
        return max(self.quota - (self.bookings or Decimal(0)), Decimal(0))


@dataclass(frozen=True)
class RepLine:
    member: Membership
    attainment: Decimal | None
    bookings: Decimal | None


@dataclass
class StartPage:
    role: str
    quarter: FiscalPeriod | None
    year: FiscalPeriod | None
    subject: str  # whose figures: the member, the team or the company
    team: Team | None = None
    figures: Figures | None = None
    attention: list[Deal] = field(default_factory=list)
    attention_count: int = 0
    goals_behind: list[Goal] = field(default_factory=list)
    reps: list[RepLine] = field(default_factory=list)
    without_quota: list[Membership] = field(default_factory=list)
    without_team: list[Membership] = field(default_factory=list)
    runs: list[TaskRun] = field(default_factory=list)
    # A rep's published commission of the fiscal year, by period (None: not shown).
    commission: list[tuple[FiscalPeriod, Decimal]] | None = None
    overdue_actions: list[ActionItem] = field(default_factory=list)

    @property
    def commission_to_date(self) -> Decimal:
        return sum((amount for _, amount in self.commission or []), Decimal("0.00"))


def _figures(
    tenant: Tenant,
    *,
    kind: str,
    subject_id: int,
    quarter: FiscalPeriod | None,
    year: FiscalPeriod | None,
) -> Figures:
    now = (
        values_of(tenant, period=quarter, kind=kind, subject_ids=[subject_id], kpis=FIGURES).get(
            subject_id, {}
        )
        if quarter
        else {}
    )
    fy = (
        values_of(tenant, period=year, kind=kind, subject_ids=[subject_id], kpis=["bookings"]).get(
            subject_id, {}
        )
        if year
        else {}
    )
    return Figures(
        bookings=now.get("bookings"),
        quota=now.get("quota"),
        attainment=now.get("attainment"),
        open_pipeline=now.get("open_pipeline"),
        coverage=now.get("pipeline_coverage"),
        year_bookings=fy.get("bookings"),
    )


def goals_behind(goals: QuerySet[Goal], *, today: dt.date) -> list[Goal]:
    """Approved goals under way whose progress is behind the share of their
    time that has passed (a goal half-way through its dates at 30% is behind)."""
    behind = []
    for goal in goals.filter(
        status=GoalStatus.APPROVED, start_date__lte=today, due_date__gte=today
    ).order_by("due_date", "id"):
        span = (goal.due_date - goal.start_date).days
        elapsed = Decimal((today - goal.start_date).days) / span if span > 0 else Decimal(1)
        progress = goal.progress
        if progress is not None and progress < elapsed:
            behind.append(goal)
    return behind


def _active_reps(tenant: Tenant, people: QuerySet[Membership], period: FiscalPeriod | None):
    reps = people.filter(role=Role.REP, is_active=True)
    if period is not None:
        reps = reps.filter(start_date__lte=period.end).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=period.start)
        )
    return list(reps.select_related("user", "team").order_by("user__last_name", "user__first_name"))


def _without_quota(
    tenant: Tenant, reps: list[Membership], quarter: FiscalPeriod | None
) -> tuple[list[Membership], dict[int, dict[str, Decimal | None]]]:
    if quarter is None:
        return [], {}
    values = values_of(
        tenant,
        period=quarter,
        kind=SubjectKind.MEMBER,
        subject_ids=[r.pk for r in reps],
        kpis=["bookings", "quota", "attainment"],
    )
    return [r for r in reps if values.get(r.pk, {}).get("quota") is None], values


def start_page(tenant: Tenant, *, viewer: Membership, today: dt.date) -> StartPage:
    """The start page of ``viewer`` (see the module docstring)."""
    quarter = period_containing(tenant, day=today, kind="quarter")
    year = period_containing(tenant, day=today, kind="year")
    deals = Deal.objects.filter(Reach(viewer).deals(), tenant=tenant)
    attention = deals_needing_attention(
        deals, today=today, stalled_after_days=tenant.stalled_after_days
    )
    page = StartPage(role=viewer.role, quarter=quarter, year=year, subject=viewer.display_name)
    page.attention = list(attention[:ATTENTION_LIMIT])
    page.attention_count = (
        len(page.attention) if len(page.attention) < ATTENTION_LIMIT else attention.count()
    )
    goals = goals_visible(tenant, viewer=viewer).select_related(
        "owner_membership__user", "owner_team"
    )
    if viewer.role == Role.REP:
        goals = goals.filter(owner_membership=viewer)
    elif viewer.role == Role.MANAGER:
        goals = goals.exclude(level=GoalLevel.COMPANY)
    page.goals_behind = goals_behind(goals, today=today)
    if viewer.role in READ_ALL:
        page.subject = tenant.name
        page.figures = _figures(
            tenant, kind=SubjectKind.TENANT, subject_id=0, quarter=quarter, year=year
        )
        reps = _active_reps(tenant, Membership.objects.filter(tenant=tenant), quarter)
        page.without_quota, _ = _without_quota(tenant, reps, quarter)
        page.without_team = list(
            Membership.objects.filter(tenant=tenant, is_active=True, team__isnull=True)
            .select_related("user")
            .order_by("user__last_name", "user__first_name")
        )
        page.runs = kpi_runs(tenant, limit=5)
        return page
    if viewer.role == Role.MANAGER:
        team = Team.objects.filter(tenant=tenant, manager=viewer).order_by("depth", "path").first()
        if team is not None:
            page.team, page.subject = team, team.name
            page.figures = _figures(
                tenant, kind=SubjectKind.TEAM, subject_id=team.pk, quarter=quarter, year=year
            )
        reps = _active_reps(
            tenant, Membership.objects.filter(Reach(viewer).members(), tenant=tenant), quarter
        )
        page.without_quota, values = _without_quota(tenant, reps, quarter)
        page.reps = sorted(
            (
                RepLine(
                    r, values.get(r.pk, {}).get("attainment"), values.get(r.pk, {}).get("bookings")
                )
                for r in reps
            ),
            key=lambda line: (line.attainment is None, line.attainment or 0),
        )
        return page
    page.figures = _figures(
        tenant, kind=SubjectKind.MEMBER, subject_id=viewer.pk, quarter=quarter, year=year
    )
    if year is not None:
        page.commission = commission_to_date(tenant, membership=viewer, year=year)
    page.overdue_actions = overdue_actions(tenant, member=viewer, today=today)
    return page
