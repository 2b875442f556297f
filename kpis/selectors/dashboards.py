"""What the dashboards show, as plain dataclasses: the rep dashboard, the team
dashboard, the company overview, and the scorecard (a subject's KPI table
with red/amber/green) that the pages and the ``kpi-reports`` API share.

Views turn these into pages and figures, the API into rows; neither adds a
figure of its own. Every function reads snapshots in a fixed number of
queries whatever the number of people. Call inside the tenant's context; the
caller has already checked that the viewer may see the subject.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from goals.models import Goal
from kpis.definitions import BY_KEY, RATIO, KpiDef, format_value, percent
from kpis.models import SubjectKind
from kpis.selectors.boards import BoardRow, leaderboard_position
from kpis.selectors.scope import DEFAULT_TABLE_KPIS
from kpis.selectors.settings import Setting, custom_labels, rag, settings_for, table_kpis
from kpis.selectors.snapshots import (
    Cell,
    SeriesPoint,
    StageRow,
    computed_at,
    member_goals,
    months_of_year,
    open_stages,
    series,
    stage_rows,
    team_goals,
    values_of,
)
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant

Values = dict[str, Decimal | None]

# A rep's tiles: the default KPI table but coverage (a team's figure).
REP_HEADLINE = tuple(k for k in DEFAULT_TABLE_KPIS if k != "pipeline_coverage")
REP_ACTIVITIES = (
    "activities_call",
    "activities_email",
    "activities_meeting",
    "activities_demo",
    "activities",
)
TEAM_HEADLINE = (
    "bookings",
    "quota",
    "attainment",
    "win_rate",
    "weighted_pipeline",
    "pipeline_coverage",
)
TEAM_FUNNEL = ("leads_awareness", "leads_interest", "leads_decision", "leads_action")
TREND_KPIS = ["bookings", "quota"]


@dataclass(frozen=True)
class Figure:
    """One built-in KPI's value and its text (a headline tile, a table line)."""

    key: str
    label: str
    value: Decimal | None
    text: str


@dataclass(frozen=True)
class ScoreRow:
    """One line of a scorecard: the KPI, its value as a cell with RAG, its target."""

    kpi: KpiDef
    cell: Cell
    target: Decimal | None


@dataclass(frozen=True)
class MatrixRow:
    """A line of a KPI matrix: a team (indented by ``depth``) or a member."""

    kind: str
    subject: Team | Membership
    name: str
    cells: list[Cell]
    depth: int = 0
    team: Team | None = None


@dataclass(frozen=True)
class Comparison:
    """A bar of the team chart: a sub-team or one of the team's own reps."""

    kind: str
    subject: Team | Membership
    name: str
    attainment: Decimal | None

    @property
    def attainment_percent(self) -> Decimal | None:
        return percent(self.attainment)


@dataclass(frozen=True)
class TeamBar:
    team: Team
    bookings: Decimal | None
    quota: Decimal | None


@dataclass
class RepDashboard:
    member: Membership
    period: FiscalPeriod
    values: Values
    headline: list[Figure]
    trend: list[SeriesPoint]
    stages: list[StageRow]
    rank: BoardRow | None
    board_size: int
    activities: list[Figure]
    goals: list[Goal]
    scorecard: list[ScoreRow]
    computed_at: dt.datetime | None

    @property
    def attainment_percent(self) -> Decimal | None:
        return percent(self.values.get("attainment"))


@dataclass
class TeamDashboard:
    team: Team
    period: FiscalPeriod
    values: Values
    headline: list[Figure]
    kpis: list[KpiDef]
    rows: list[MatrixRow]
    people_page: Page
    compared: str
    children: list[Comparison]
    trend: list[SeriesPoint]
    stages: list[StageRow]
    funnel: list[Figure]
    lead_conversion: str
    goals: list[Goal]
    computed_at: dt.datetime | None


@dataclass
class CompanyOverview:
    period: FiscalPeriod
    kpis: list[KpiDef]
    company: list[Cell]
    rows: list[MatrixRow]
    bars: list[TeamBar]
    trend: list[SeriesPoint]
    computed_at: dt.datetime | None


def figures(values: Values, keys: tuple[str, ...]) -> list[Figure]:
    """The built-in KPIs ``keys`` of ``values``, formatted by their unit (no query)."""
    return [
        Figure(k, BY_KEY[k].label, values.get(k), format_value(values.get(k), BY_KEY[k].unit))
        for k in keys
    ]


def cells(values: Values, kpis: list[KpiDef], settings: dict[str, Setting]) -> list[Cell]:
    """The cells of a KPI table line (no query). Ratio values and their
    thresholds are both stored as fractions of 1."""
    return [
        Cell(
            values.get(k.key),
            format_value(values.get(k.key), k.unit),
            rag(values.get(k.key), settings.get(k.key)),
        )
        for k in kpis
    ]


def scorecard_rows(
    values: Values, kpis: list[KpiDef], settings: dict[str, Setting]
) -> list[ScoreRow]:
    """A scorecard from values already read (no query)."""
    return [
        ScoreRow(kpi, cell, settings[kpi.key].target if kpi.key in settings else None)
        for kpi, cell in zip(kpis, cells(values, kpis, settings), strict=True)
    ]


def subject_settings(tenant: Tenant, *, kind: str, subject_id: int) -> dict[str, Setting]:
    """The KPI settings that judge a subject: a member's role and team, a
    team's as for its reps, the tenant-wide ones for the company (two queries
    for a member, one otherwise)."""
    if kind == SubjectKind.MEMBER:
        member = Membership.objects.filter(tenant=tenant, pk=subject_id).first()
        if member is not None:
            return settings_for(tenant, role=member.role, team_id=member.team_id)
    if kind == SubjectKind.TEAM:
        return settings_for(tenant, role=Role.REP, team_id=subject_id)
    return settings_for(tenant)


def scorecard(
    tenant: Tenant, *, period: FiscalPeriod, kind: str, subject_id: int
) -> list[ScoreRow]:
    """A subject's KPI table in a period, judged by the subject's settings:
    the same rows as the KPI table of its dashboard."""
    values = values_of(tenant, period=period, kind=kind, subject_ids=[subject_id])
    settings = subject_settings(tenant, kind=kind, subject_id=subject_id)
    kpis = table_kpis(settings, custom_labels(tenant))
    return scorecard_rows(values.get(subject_id, {}), kpis, settings)


def rep_dashboard(
    tenant: Tenant, *, member: Membership, period: FiscalPeriod, periods: list[FiscalPeriod]
) -> RepDashboard:
    """A member's dashboard in ``period``; the trend covers the months of its
    fiscal year among ``periods``."""
    mine = values_of(tenant, period=period, kind=SubjectKind.MEMBER, subject_ids=[member.pk]).get(
        member.pk, {}
    )
    rank, board_size = leaderboard_position(tenant, period=period, kpi="attainment", member=member)
    settings = settings_for(tenant, role=member.role, team_id=member.team_id)
    kpis = table_kpis(settings, custom_labels(tenant))
    return RepDashboard(
        member=member,
        period=period,
        values=mine,
        headline=figures(mine, REP_HEADLINE),
        trend=series(
            tenant,
            kind=SubjectKind.MEMBER,
            subject_id=member.pk,
            kpis=TREND_KPIS,
            periods=months_of_year(periods, period.fiscal_year),
        ),
        stages=stage_rows(tenant, values=mine, stages=open_stages(tenant)),
        rank=rank,
        board_size=board_size,
        activities=figures(mine, REP_ACTIVITIES),
        goals=member_goals(tenant, member=member, period=period),
        scorecard=scorecard_rows(mine, kpis, settings),
        computed_at=computed_at(
            tenant, period=period, kind=SubjectKind.MEMBER, subject_id=member.pk
        ),
    )


def _reps_active(tenant: Tenant, period: FiscalPeriod) -> QuerySet[Membership]:
    """Reps active at some day of ``period``: managers carry no figures of their
    own on a team's page, and people who left before it (or joined after it)
    have none to show."""
    return Membership.objects.filter(
        tenant=tenant, role=Role.REP, start_date__lte=period.end
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=period.start))


def _team_people(
    tenant: Tenant, *, subteams: list[Team], period: FiscalPeriod, page: str | None, per_page: int
) -> Page:
    """The subtree's reps active in the period a page at a time (a company root
    can hold hundreds): in team order, then by name."""
    return Paginator(
        _reps_active(tenant, period)
        .filter(team__in=subteams)
        .select_related("user", "team")
        .order_by("team__path", "user__last_name", "user__first_name", "pk"),
        per_page,
    ).get_page(page)


def _team_rows(
    teams: list[Team],
    values: dict[int, Values],
    kpis: list[KpiDef],
    settings: dict[str, Setting],
    *,
    top: Team | None = None,
) -> list[MatrixRow]:
    """Matrix lines of ``teams``, indented by their depth below ``top`` (or the root)."""
    base = top.depth if top is not None else 0
    return [
        MatrixRow(
            SubjectKind.TEAM,
            x,
            x.name,
            cells(values.get(x.pk, {}), kpis, settings),
            depth=x.depth - base,
        )
        for x in teams
    ]


def _member_rows(
    people: list[Membership],
    values: dict[int, Values],
    kpis: list[KpiDef],
    settings: dict[str, Setting],
) -> list[MatrixRow]:
    return [
        MatrixRow(
            SubjectKind.MEMBER,
            m,
            m.display_name,
            cells(values.get(m.pk, {}), kpis, settings),
            team=m.team,
        )
        for m in people
    ]


def _compared(sub_teams: list[Team], own_reps: list[Membership]) -> str:
    """What the team chart compares, in words: "team", "rep" or "team and rep"."""
    words = [word for word, xs in (("team", sub_teams), ("rep", own_reps)) if xs]
    return " and ".join(words) or "rep"


def team_dashboard(
    tenant: Tenant,
    *,
    team: Team,
    period: FiscalPeriod,
    periods: list[FiscalPeriod],
    people_page: str | None = None,
    per_page: int = 50,
) -> TeamDashboard:
    """A team's dashboard in ``period``: its figures, the chart of its direct
    children (its sub-teams rolled up, and its own reps: a region shows its
    teams, a team its reps), and the KPI matrix of every team of its subtree
    with one page (``people_page``) of its people."""
    subteams = list(Team.objects.filter(tenant=tenant, path__startswith=team.path).order_by("path"))
    page = _team_people(
        tenant, subteams=subteams, period=period, page=people_page, per_page=per_page
    )
    people = list(page.object_list)
    own_reps = list(
        _reps_active(tenant, period)
        .filter(team=team)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")
    )
    member_values = values_of(
        tenant,
        period=period,
        kind=SubjectKind.MEMBER,
        subject_ids=[m.pk for m in people] + [m.pk for m in own_reps],
    )
    team_values = values_of(
        tenant, period=period, kind=SubjectKind.TEAM, subject_ids=[s.pk for s in subteams]
    )
    mine = team_values.get(team.pk, {})
    settings = settings_for(tenant, role=Role.REP, team_id=team.pk)
    kpis = table_kpis(settings, custom_labels(tenant))
    sub_teams = [s for s in subteams if s.parent_id == team.pk]
    return TeamDashboard(
        team=team,
        period=period,
        values=mine,
        headline=figures(mine, TEAM_HEADLINE),
        kpis=kpis,
        rows=[
            *_team_rows(subteams, team_values, kpis, settings, top=team),
            *_member_rows(people, member_values, kpis, settings),
        ],
        people_page=page,
        compared=_compared(sub_teams, own_reps),
        children=[
            *(
                Comparison(SubjectKind.TEAM, x, x.name, team_values.get(x.pk, {}).get("attainment"))
                for x in sub_teams
            ),
            *(
                Comparison(
                    SubjectKind.MEMBER,
                    m,
                    m.display_name,
                    member_values.get(m.pk, {}).get("attainment"),
                )
                for m in own_reps
            ),
        ],
        trend=series(
            tenant,
            kind=SubjectKind.TEAM,
            subject_id=team.pk,
            kpis=TREND_KPIS,
            periods=months_of_year(periods, period.fiscal_year),
        ),
        stages=stage_rows(tenant, values=mine, stages=open_stages(tenant)),
        funnel=figures(mine, TEAM_FUNNEL),
        lead_conversion=format_value(mine.get("lead_conversion"), RATIO),
        goals=team_goals(tenant, team=team, period=period),
        computed_at=computed_at(tenant, period=period, kind=SubjectKind.TEAM, subject_id=team.pk),
    )


def side_by_side(teams: list[Team]) -> list[Team]:
    """The teams the company chart compares: the top level of the tree, or,
    under a single company-wide root team, its sub-teams (the root's own bar
    would repeat the company's figures)."""
    roots = [x for x in teams if x.parent_id is None]
    if len(roots) == 1:
        children = [x for x in teams if x.parent_id == roots[0].pk]
        if children:
            return children
    return roots


def company_overview(
    tenant: Tenant, *, period: FiscalPeriod, periods: list[FiscalPeriod]
) -> CompanyOverview:
    """Every team side by side and the company's figures in ``period``."""
    teams = list(Team.objects.filter(tenant=tenant).order_by("path"))
    values = values_of(
        tenant, period=period, kind=SubjectKind.TEAM, subject_ids=[x.pk for x in teams]
    )
    company = values_of(tenant, period=period, kind=SubjectKind.TENANT, subject_ids=[0]).get(0, {})
    settings = settings_for(tenant)
    kpis = table_kpis(settings, custom_labels(tenant))
    return CompanyOverview(
        period=period,
        kpis=kpis,
        company=cells(company, kpis, settings),
        rows=_team_rows(teams, values, kpis, settings),
        bars=[
            TeamBar(x, values.get(x.pk, {}).get("bookings"), values.get(x.pk, {}).get("quota"))
            for x in side_by_side(teams)
        ],
        trend=series(
            tenant,
            kind=SubjectKind.TENANT,
            subject_id=0,
            kpis=TREND_KPIS,
            periods=months_of_year(periods, period.fiscal_year),
        ),
        computed_at=computed_at(tenant, period=period, kind=SubjectKind.TENANT, subject_id=0),
    )
