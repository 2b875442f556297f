"""The forecast beside quotas: the manager's grid (a line per direct report
with the roll-up's figures, the call, the quota, the gap and the coverage) and
the team dashboard's forecast against quota.

Figures and calls come from ``pipeline.forecast.selectors.forecast_rollup``;
quotas from the KPI snapshots (``quota`` of a rep, of the top team a manager
manages). Gap = quota - call (what the call leaves short of quota; below zero
above quota). Coverage = open pipeline / (quota - closed): how many times
what counts of the open pipeline covers the quota still to close (None when
nothing is left to close). docs/formulas.md section 7.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from kpis.models import SubjectKind
from kpis.selectors.snapshots import values_of
from pipeline.forecast.selectors import (
    ZERO,
    Figures,
    Rollup,
    RollupRow,
    forecast_rollup,
    forecast_tree,
    stat_forecast_for,
)
from spm.models import FiscalPeriod, Team, Tenant
from spm.money import round_half_up

COVERAGE_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class GridRow:
    """One line of the forecast grid."""

    row: RollupRow
    quota: Decimal | None

    @property
    def figures(self) -> Figures:
        return self.row.figures

    @property
    def gap(self) -> Decimal | None:
        return None if self.quota is None else self.quota - self.row.call

    @property
    def coverage(self) -> Decimal | None:
        if self.quota is None:
            return None
        to_close = self.quota - self.row.figures.closed
        if to_close <= 0:
            return None
        return round_half_up(
            Fraction(self.row.figures.open_pipeline) / Fraction(to_close), COVERAGE_PLACES
        )


@dataclass(frozen=True)
class ForecastGrid:
    period: FiscalPeriod
    total: GridRow
    reports: list[GridRow]


def top_managed_team(tenant: Tenant, member_ids: list[int]) -> dict[int, int]:
    """Each manager's top team: the one they manage whose parent they do not (one query)."""
    teams = list(
        Team.objects.filter(tenant=tenant, manager_id__in=member_ids).values_list(
            "id", "parent_id", "manager_id", "depth"
        )
    )
    managed = {(manager, team) for team, _parent, manager, _depth in teams}
    top: dict[int, tuple[int, int]] = {}
    for team, parent, manager, depth in teams:
        if (manager, parent) in managed:
            continue
        if manager not in top or depth < top[manager][1]:
            top[manager] = (team, depth)
    return {manager: team for manager, (team, _depth) in top.items()}


def grid_quotas(
    tenant: Tenant, *, period: FiscalPeriod, rows: list[RollupRow]
) -> dict[int, Decimal]:
    """member id -> quota of ``rows``: a rep's own, a manager's top team's (two queries)."""
    managers = [r.member.pk for r in rows if r.has_reports]
    teams = top_managed_team(tenant, managers) if managers else {}
    member_quota = values_of(
        tenant,
        period=period,
        kind=SubjectKind.MEMBER,
        subject_ids=[r.member.pk for r in rows if not r.has_reports],
        kpis=["quota"],
    )
    team_quota = (
        values_of(
            tenant,
            period=period,
            kind=SubjectKind.TEAM,
            subject_ids=list(teams.values()),
            kpis=["quota"],
        )
        if teams
        else {}
    )
    quotas: dict[int, Decimal] = {}
    for r in rows:
        values = (
            team_quota.get(teams.get(r.member.pk, 0), {})
            if r.has_reports
            else member_quota.get(r.member.pk, {})
        )
        value = values.get("quota")
        if value is not None:
            quotas[r.member.pk] = round_half_up(value)
    return quotas


def forecast_grid(tenant: Tenant, *, rollup: Rollup, member_id: int) -> ForecastGrid:
    """``member_id``'s grid in the roll-up's period: their own line (the total)
    and one per direct report, with quotas (two queries beyond the roll-up)."""
    top = rollup.row(member_id)
    lines = [top, *top.reports]
    quotas = grid_quotas(tenant, period=rollup.period, rows=lines)
    return ForecastGrid(
        period=rollup.period,
        total=GridRow(top, quotas.get(top.member.pk)),
        reports=[GridRow(r, quotas.get(r.member.pk)) for r in top.reports],
    )


@dataclass(frozen=True)
class TeamForecast:
    """A team's forecast against its quota: its manager's roll-up line and
    the statistical expectation of its subtree."""

    grid: GridRow
    statistical: Decimal | None

    @property
    def bars(self) -> list[tuple[str, Decimal | None]]:
        figures = self.grid.figures
        return [
            ("Closed", figures.closed),
            ("Closed + commit", figures.default_call),
            ("Call", self.grid.row.call),
            ("Statistical", self.statistical),
        ]


def team_forecast(tenant: Tenant, *, team: Team, period: FiscalPeriod) -> TeamForecast | None:
    """The team's forecast (None when nobody manages it) with its quota and
    statistical forecast: its manager's roll-up line when it is the top team
    they manage; for a team below it (managed by the same person), the sum of
    its other members' lines."""
    if team.manager_id is None:
        return None
    tree = forecast_tree(tenant, under=team.manager_id)
    if team.manager_id not in tree.members:
        return None
    rollup = forecast_rollup(tenant, period=period, tree=tree, under=team.manager_id)
    row = rollup.row(team.manager_id)
    if top_managed_team(tenant, [team.manager_id]).get(team.manager_id) != team.pk:
        lines = [r for r in rollup.rows.values() if r.member.team_id == team.pk and r is not row]
        total = sum((r.call for r in lines), ZERO)
        row = RollupRow(
            row.member,
            sum((r.figures for r in lines), Figures()),
            Figures(),
            total,
            ZERO,
            total,
            None,
            True,
        )
    quota = (
        values_of(
            tenant, period=period, kind=SubjectKind.TEAM, subject_ids=[team.pk], kpis=["quota"]
        )
        .get(team.pk, {})
        .get("quota")
    )
    stat = stat_forecast_for(tenant, period=period, kind="team", subject_id=team.pk)
    return TeamForecast(
        grid=GridRow(row, round_half_up(quota) if quota is not None else None),
        statistical=stat.expected if stat else None,
    )
