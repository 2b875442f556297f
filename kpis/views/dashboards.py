"""The rep dashboard, the team (manager) dashboard and the tenant overview."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import DetailView, TemplateView, View

from kpis import charts, selectors
from kpis.selectors.forecast import team_forecast
from kpis.views.common import PeriodMixin, query_without
from spm.models import Membership, Team
from spm.permissions import READ_ALL
from spm.tenancy.views import TenantViewMixin


class DashboardView(TenantViewMixin, View):
    """/kpis/: a rep's own dashboard, a manager's team, the overview for admins and finance."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        slug = self.tenant.slug
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        if self.reach.reads_all:
            return HttpResponseRedirect(reverse("kpis:overview", args=[slug]) + query)
        if self.reach.is_manager:
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
        return qs.filter(self.reach.members()).select_related("user", "team")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if (period := self.period) is None:
            return context
        dashboard = selectors.rep_dashboard(
            self.tenant, member=self.object, period=period, periods=self.periods
        )
        context.update(
            dashboard=dashboard,
            figures={
                "gauge": charts.gauge(
                    dashboard.values.get("attainment"), title=f"Attainment · {period.label}"
                ),
                "trend": charts.bookings_vs_quota(
                    dashboard.trend,
                    title=f"Bookings by month vs quota · FY{period.fiscal_year}",
                ),
                "pipeline": charts.pipeline_by_stage(
                    dashboard.stages,
                    title=f"Open pipeline by stage · {period.label}",
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
        return qs.filter(self.reach.teams())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        team, period = self.object, self.period
        if period is None:
            return context
        dashboard = selectors.team_dashboard(
            self.tenant,
            team=team,
            period=period,
            periods=self.periods,
            people_page=self.request.GET.get("people"),
            per_page=self.people_per_page,
        )
        forecast = team_forecast(self.tenant, team=team, period=period)
        context.update(
            dashboard=dashboard,
            forecast=forecast,
            query_keep=query_without(self.request, "people"),
            figures={
                "attainment": charts.attainment_by_subject(
                    [c.name for c in dashboard.children],
                    [c.attainment for c in dashboard.children],
                    title=f"Attainment by {dashboard.compared} · {period.label}",
                ),
                "trend": charts.cumulative_vs_quota(
                    dashboard.trend,
                    title=f"{team.name}: bookings vs quota to date · FY{period.fiscal_year}",
                ),
                "funnel": charts.stage_funnel(
                    dashboard.stages, title=f"Stage conversion · {period.label}"
                ),
                "forecast": charts.forecast_vs_quota(
                    forecast.bars if forecast else [],
                    forecast.grid.quota if forecast else None,
                    title=f"Forecast vs quota · {period.label}",
                ),
            },
        )
        return context


class OverviewView(PeriodMixin, TemplateView):
    """Every team side by side, and the company's figures (admins and finance)."""

    allowed_roles = READ_ALL
    template_name = "kpis/overview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if (period := self.period) is None:
            return context
        dashboard = selectors.company_overview(self.tenant, period=period, periods=self.periods)
        context.update(
            dashboard=dashboard,
            figures={
                "teams": charts.teams_side_by_side(
                    [b.team.name for b in dashboard.bars],
                    [b.bookings for b in dashboard.bars],
                    [b.quota for b in dashboard.bars],
                    title=f"Bookings and quota by team · {period.label}",
                ),
                "trend": charts.bookings_vs_quota(
                    dashboard.trend,
                    title=f"Company bookings by month vs quota · FY{period.fiscal_year}",
                ),
            },
        )
        return context
