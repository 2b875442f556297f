"""The rep dashboard, the team (manager) dashboard and the tenant overview."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import DetailView, TemplateView, View

from kpis import charts, selectors
from kpis.definitions import BY_KEY, RATIO, format_value, percent
from kpis.models import SubjectKind
from kpis.views.common import PeriodMixin, kpi_cells, query_without
from spm.models import Membership, Role, Team
from spm.permissions import READ_ALL
from spm.tenancy.views import TenantViewMixin


class DashboardView(TenantViewMixin, View):
    """/kpis/: a rep's own dashboard, a manager's team, the overview for admins and finance."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        slug = self.tenant.slug
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        if self.membership.role in READ_ALL:
            return HttpResponseRedirect(reverse("kpis:overview", args=[slug]) + query)
        if self.membership.role == Role.MANAGER:
            team = (
                Team.objects.filter(tenant=self.tenant, manager=self.membership)
                .order_by("depth", "path")
                .first()
            )
            if team is not None:
                return HttpResponseRedirect(reverse("kpis:team", args=[slug, team.pk]) + query)
        return HttpResponseRedirect(reverse("kpis:rep", args=[slug, self.membership.pk]) + query)


class RepDashboardView(PeriodMixin, DetailView):
    """A member's dashboard: attainment gauge, bookings by month against quota,
    pipeline by stage, win rate, cycle, activities, leaderboard rank, goals."""

    model = Membership
    template_name = "kpis/rep.html"
    context_object_name = "member"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.members_visible(self.tenant, viewer=self.membership).select_related(
            "user", "team"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.period_context())
        member, period, t = self.object, self.period, self.tenant
        if period is None:
            return context
        values = selectors.values_of(
            t, period=period, kind=SubjectKind.MEMBER, subject_ids=[member.pk]
        )
        mine = values.get(member.pk, {})
        months = selectors.months_of_year(self.periods, period.fiscal_year)
        trend = selectors.series(
            t,
            kind=SubjectKind.MEMBER,
            subject_id=member.pk,
            kpis=["bookings", "quota"],
            periods=months,
        )
        stages = selectors.stage_rows(t, values=mine, stages=selectors.open_stages(t))
        rank, board_size = selectors.leaderboard_position(
            t, period=period, kpi="attainment", member=member
        )
        labels = selectors.custom_labels(t)
        settings = selectors.settings_for(t, role=member.role, team_id=member.team_id)
        kpis = selectors.table_kpis(settings, labels)
        currency = t.currency
        context.update(
            values=mine,
            headline=[
                (BY_KEY[k].label, format_value(mine.get(k), BY_KEY[k].unit))
                for k in (
                    "bookings",
                    "quota",
                    "attainment",
                    "win_rate",
                    "average_deal_size",
                    "sales_cycle_length",
                    "weighted_pipeline",
                    "activities",
                )
            ],
            attainment_pct=percent(mine.get("attainment")),
            trend=trend,
            stages=stages,
            rank=rank,
            board_size=board_size,
            activities=[
                (BY_KEY[k].label, format_value(mine.get(k), BY_KEY[k].unit))
                for k in (
                    "activities_call",
                    "activities_email",
                    "activities_meeting",
                    "activities_demo",
                    "activities",
                )
            ],
            goals=selectors.member_goals(t, member=member),
            kpi_rows=list(zip(kpis, kpi_cells(mine, kpis, settings), strict=True)),
            computed_at=selectors.computed_at(
                t, period=period, kind=SubjectKind.MEMBER, subject_id=member.pk
            ),
            figures={
                "gauge": charts.gauge(mine.get("attainment"), title=f"Attainment · {period.label}"),
                "trend": charts.bookings_vs_quota(
                    trend,
                    title=f"Bookings by month vs quota · FY{period.fiscal_year}",
                    currency=currency,
                ),
                "pipeline": charts.pipeline_by_stage(
                    stages, title=f"Open pipeline by stage · {period.label}", currency=currency
                ),
            },
        )
        return context


class TeamDashboardView(PeriodMixin, DetailView):
    """A team's dashboard for its manager: attainment of its sub-teams and own
    reps, the team's trend against quota, stage conversion, and the subtree's
    KPI table with RAG (every team; people 50 a page, ``?people=``)."""

    model = Team
    template_name = "kpis/team.html"
    context_object_name = "team"
    people_per_page = 50

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.teams_visible(self.tenant, viewer=self.membership)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.period_context())
        team, period, t = self.object, self.period, self.tenant
        if period is None:
            return context
        subteams = list(Team.objects.filter(tenant=t, path__startswith=team.path).order_by("path"))
        # Every team of the subtree, and its people a page at a time (a company
        # root can hold hundreds): in team order, then by name.
        people_page = Paginator(
            Membership.objects.filter(tenant=t, team__in=subteams)
            .select_related("user", "team")
            .order_by("team__path", "user__last_name", "user__first_name", "pk"),
            self.people_per_page,
        ).get_page(self.request.GET.get("people"))
        people = list(people_page.object_list)
        # The chart compares the team's direct children: its sub-teams (rolled
        # up) and its own reps (a region shows its teams, a team its reps).
        own_reps = list(
            Membership.objects.filter(tenant=t, team=team, role=Role.REP)
            .select_related("user")
            .order_by("user__last_name", "user__first_name", "pk")
        )
        member_values = selectors.values_of(
            t,
            period=period,
            kind=SubjectKind.MEMBER,
            subject_ids=[m.pk for m in people] + [m.pk for m in own_reps],
        )
        team_values = selectors.values_of(
            t, period=period, kind=SubjectKind.TEAM, subject_ids=[s.pk for s in subteams]
        )
        mine = team_values.get(team.pk, {})
        months = selectors.months_of_year(self.periods, period.fiscal_year)
        trend = selectors.series(
            t, kind=SubjectKind.TEAM, subject_id=team.pk, kpis=["bookings", "quota"], periods=months
        )
        stages = selectors.stage_rows(t, values=mine, stages=selectors.open_stages(t))
        labels = selectors.custom_labels(t)
        settings = selectors.settings_for(t, role=Role.REP, team_id=team.pk)
        kpis = selectors.table_kpis(settings, labels)
        rows = [
            {
                "kind": "team",
                "name": s.name,
                "obj": s,
                "depth": s.depth - team.depth,
                "cells": kpi_cells(team_values.get(s.pk, {}), kpis, settings),
            }
            for s in subteams
        ] + [
            {
                "kind": "member",
                "name": m.display_name,
                "obj": m,
                "team": m.team,
                "cells": kpi_cells(member_values.get(m.pk, {}), kpis, settings),
            }
            for m in people
        ]
        sub_teams = [s for s in subteams if s.parent_id == team.pk]
        children: list[tuple[str, str, Decimal | None]] = [
            (
                s.name,
                reverse("kpis:team", args=[t.slug, s.pk]),
                team_values.get(s.pk, {}).get("attainment"),
            )
            for s in sub_teams
        ] + [
            (
                m.display_name,
                reverse("kpis:rep", args=[t.slug, m.pk]),
                member_values.get(m.pk, {}).get("attainment"),
            )
            for m in own_reps
        ]
        compared = (
            " and ".join(word for word, xs in (("team", sub_teams), ("rep", own_reps)) if xs)
            or "rep"
        )
        context.update(
            values=mine,
            headline=[
                (BY_KEY[k].label, format_value(mine.get(k), BY_KEY[k].unit))
                for k in (
                    "bookings",
                    "quota",
                    "attainment",
                    "win_rate",
                    "weighted_pipeline",
                    "pipeline_coverage",
                )
            ],
            kpis=kpis,
            rows=rows,
            people_page=people_page,
            query_keep=query_without(self.request, "people"),
            compared=compared,
            children=[(name, url, percent(a)) for name, url, a in children],
            trend=trend,
            stages=stages,
            funnel=[
                (BY_KEY[k].label, mine.get(k))
                for k in ("leads_awareness", "leads_interest", "leads_decision", "leads_action")
            ],
            lead_conversion=format_value(mine.get("lead_conversion"), RATIO),
            goals=selectors.team_goals(t, team=team),
            computed_at=selectors.computed_at(
                t, period=period, kind=SubjectKind.TEAM, subject_id=team.pk
            ),
            figures={
                "attainment": charts.attainment_by_subject(
                    [name for name, _url, _a in children],
                    [a for _name, _url, a in children],
                    title=f"Attainment by {compared} · {period.label}",
                ),
                "trend": charts.cumulative_vs_quota(
                    trend,
                    title=f"{team.name}: bookings vs quota to date · FY{period.fiscal_year}",
                    currency=t.currency,
                ),
                "funnel": charts.stage_funnel(stages, title=f"Stage conversion · {period.label}"),
            },
        )
        return context


def _side_by_side(teams: list[Team]) -> list[Team]:
    """The teams the company chart compares: the top level of the tree, or,
    under a single company-wide root team, its sub-teams (the root's own bar
    would repeat the company's figures)."""
    roots = [x for x in teams if x.parent_id is None]
    if len(roots) == 1:
        children = [x for x in teams if x.parent_id == roots[0].pk]
        if children:
            return children
    return roots


class OverviewView(PeriodMixin, TemplateView):
    """Every team side by side, and the company's figures (admins and finance)."""

    allowed_roles = READ_ALL
    template_name = "kpis/overview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.period_context())
        period, t = self.period, self.tenant
        if period is None:
            return context
        teams = list(Team.objects.filter(tenant=t).order_by("path"))
        values = selectors.values_of(
            t, period=period, kind=SubjectKind.TEAM, subject_ids=[x.pk for x in teams]
        )
        company = selectors.values_of(
            t, period=period, kind=SubjectKind.TENANT, subject_ids=[0]
        ).get(0, {})
        labels = selectors.custom_labels(t)
        settings = selectors.settings_for(t)
        kpis = selectors.table_kpis(settings, labels)
        months = selectors.months_of_year(self.periods, period.fiscal_year)
        trend = selectors.series(
            t, kind=SubjectKind.TENANT, subject_id=0, kpis=["bookings", "quota"], periods=months
        )
        side = _side_by_side(teams)
        context.update(
            kpis=kpis,
            company=kpi_cells(company, kpis, settings),
            trend=trend,
            rows=[(x, kpi_cells(values.get(x.pk, {}), kpis, settings)) for x in teams],
            team_bars=[
                (x, values.get(x.pk, {}).get("bookings"), values.get(x.pk, {}).get("quota"))
                for x in side
            ],
            computed_at=selectors.computed_at(
                t, period=period, kind=SubjectKind.TENANT, subject_id=0
            ),
            figures={
                "teams": charts.teams_side_by_side(
                    [x.name for x in side],
                    [values.get(x.pk, {}).get("bookings") for x in side],
                    [values.get(x.pk, {}).get("quota") for x in side],
                    title=f"Bookings and quota by team · {period.label}",
                    currency=t.currency,
                ),
                "trend": charts.bookings_vs_quota(
                    trend,
                    title=f"Company bookings by month vs quota · FY{period.fiscal_year}",
                    currency=t.currency,
                ),
            },
        )
        return context
