"""Pages of the KPI pillar: the rep dashboard, the team (manager) dashboard,
the tenant overview, leaderboards, recompute runs and KPI settings. Thin:
selectors read snapshots, charts build figures, services write.

Who sees what: a rep opens their own dashboard and every leaderboard; a
manager the dashboards of their subtree's people and teams (and their own); admins and
finance everything, including the tenant overview. Anything else is a 404.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.generic import DetailView, TemplateView, View

from kpis import charts, selectors, services
from kpis.definitions import BY_KEY, RATIO, format_value, kpi_def, percent
from kpis.forms import CustomKpiForm, KpiSettingForm, KpiSettingValuesForm
from kpis.models import CustomKpi, KpiSetting, SubjectKind
from kpis.tasks import kpis_recompute_tenant
from spm.models import Membership, Role, Team
from spm.permissions import ADMIN, READ_ALL
from spm.services import task_run_create
from spm.tenancy.views import TenantViewMixin

HUNDRED = Decimal(100)


class PeriodMixin(TenantViewMixin):
    """The period picker: ``?period=<id>``, default the current quarter."""

    def period_context(self) -> dict[str, Any]:
        periods = selectors.periods_for_picker(self.tenant)
        period = selectors.period_selected(
            self.tenant,
            periods=periods,
            period_id=self.request.GET.get("period"),  # type: ignore[attr-defined]
        )
        self.periods, self.period = periods, period
        return {"periods": periods, "period": period, "currency": self.tenant.currency}


def _kpi_cells(
    values: dict[str, Decimal | None], kpis: list[Any], settings: dict[str, selectors.Setting]
) -> list[selectors.Cell]:
    # Ratio values and their thresholds are both stored as fractions of 1.
    return [
        selectors.Cell(
            values.get(k.key),
            format_value(values.get(k.key), k.unit),
            selectors.rag(values.get(k.key), settings.get(k.key)),
        )
        for k in kpis
    ]


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
            kpi_rows=list(zip(kpis, _kpi_cells(mine, kpis, settings), strict=True)),
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


def _query_without(request: Any, name: str) -> str:
    """The current query string without ``name`` (for pager links)."""
    query = request.GET.copy()
    query.pop(name, None)
    return str(query.urlencode())


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
                "cells": _kpi_cells(team_values.get(s.pk, {}), kpis, settings),
            }
            for s in subteams
        ] + [
            {
                "kind": "member",
                "name": m.display_name,
                "obj": m,
                "team": m.team,
                "cells": _kpi_cells(member_values.get(m.pk, {}), kpis, settings),
            }
            for m in people
        ]
        children: list[tuple[str, str, Decimal | None]] = [
            (
                s.name,
                reverse("kpis:team", args=[t.slug, s.pk]),
                team_values.get(s.pk, {}).get("attainment"),
            )
            for s in subteams
            if s.parent_id == team.pk
        ] + [
            (
                m.display_name,
                reverse("kpis:rep", args=[t.slug, m.pk]),
                member_values.get(m.pk, {}).get("attainment"),
            )
            for m in own_reps
        ]
        compared = (
            "rep" if len(children) == len(own_reps) else "team" if not own_reps else "team and rep"
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
            query_keep=_query_without(self.request, "people"),
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
            company=_kpi_cells(company, kpis, settings),
            trend=trend,
            rows=[(x, _kpi_cells(values.get(x.pk, {}), kpis, settings)) for x in teams],
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


class LeaderboardView(PeriodMixin, TemplateView):
    """Reps ranked on one KPI in one period. Every member sees the reps'
    leaderboards (names, rank and the ranked KPI only); quota figures stay private."""

    template_name = "kpis/leaderboards.html"
    page_size = 25

    def _query_keep(self) -> str:
        """The current query string without ``page`` (for the pager links)."""
        query = self.request.GET.copy()
        query.pop("page", None)
        return query.urlencode()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.period_context())
        kpi = self.request.GET.get("kpi", "bookings")
        if kpi not in selectors.LEADERBOARD_KPIS:
            kpi = "bookings"
        teams = list(Team.objects.filter(tenant=self.tenant).order_by("path"))
        team = next((x for x in teams if str(x.pk) == self.request.GET.get("team", "")), None)
        # Ranked in SQL, only the shown page, the chart's top and the viewer's
        # row loaded (ranks stay global); a viewer ranked off the shown page
        # gets their own row after it.
        board = (
            selectors.leaderboard_page(
                self.tenant,
                period=self.period,
                kpi=kpi,
                viewer=self.membership,
                team=team,
                page=self.request.GET.get("page") or 1,
                per_page=self.page_size,
            )
            if self.period
            else None
        )
        definition = kpi_def(kpi)
        context.update(
            kpi=kpi,
            kpi_label=definition.label,
            kpi_choices=[(k, BY_KEY[k].label) for k in selectors.LEADERBOARD_KPIS],
            teams=teams,
            team=team,
            rows=board.rows if board else [],
            page_obj=board.page if board else None,
            my_row=board.mine if board else None,
            query_keep=self._query_keep(),
            figures={
                "board": charts.leaderboard_bars(
                    board.top if board else [],
                    title=f"{definition.label} · {self.period.label if self.period else ''}",
                    axis=definition.label
                    + (
                        " (%)"
                        if definition.unit == RATIO
                        else f" ({self.tenant.currency})"
                        if definition.unit == "money"
                        else ""
                    ),
                    percent=definition.unit == RATIO,
                )
            },
        )
        return context


class RunsView(TenantViewMixin, TemplateView):
    """KPI recompute runs with their progress; admins start a full recompute."""

    allowed_roles = ADMIN | READ_ALL
    template_name = "kpis/runs.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        runs = selectors.kpi_runs(self.tenant)
        for run in runs:
            done = run.finished_at and run.started_at
            run.seconds = (  # type: ignore[attr-defined]
                (run.finished_at - run.started_at).total_seconds() if done else None  # type: ignore[operator]
            )
        context["runs"] = runs
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.membership.role not in ADMIN:
            return HttpResponse("Only admins start a recompute.", status=403)
        with transaction.atomic():
            run = task_run_create(
                self.tenant,
                kind=services.RUN_FULL,
                label="Recompute all KPIs",
                created_by=self.membership,
            )
            tenant_id = self.tenant.pk
            transaction.on_commit(lambda: kpis_recompute_tenant.delay(tenant_id, run.pk))
        messages.success(request, "The recompute has started; its progress shows below.")
        return HttpResponseRedirect(reverse("kpis:runs", args=[self.tenant.slug]))


class SettingsView(TenantViewMixin, TemplateView):
    """Which KPIs are shown, their direction, target and RAG thresholds (per
    role or team), and the tenant's custom formula KPIs. Admins only."""

    allowed_roles = ADMIN
    template_name = "kpis/settings.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        custom = list(CustomKpi.objects.filter(tenant=self.tenant))
        labels = {c.value_key: (c.name, c.unit) for c in custom}
        context.setdefault("setting_form", KpiSettingForm(tenant=self.tenant, custom=custom))
        context.setdefault("custom_form", CustomKpiForm())
        context["settings"] = [
            _setting_row(s, labels)
            for s in KpiSetting.objects.filter(tenant=self.tenant).select_related("team")
        ]
        context["custom"] = custom
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        custom = list(CustomKpi.objects.filter(tenant=self.tenant))
        if request.POST.get("form") == "custom":
            form = CustomKpiForm(request.POST)
            if form.is_valid():
                try:
                    services.custom_kpi_save(
                        self.tenant, actor=self.membership, **form.cleaned_data
                    )
                except ValidationError as exc:
                    _errors(form, exc)
                else:
                    messages.success(
                        request,
                        f"Custom KPI '{form.cleaned_data['name']}' saved; "
                        "its values are being computed.",
                    )
                    return HttpResponseRedirect(request.path)
            return self.render_to_response(self.get_context_data(custom_form=form), status=400)
        setting_form = KpiSettingForm(request.POST, tenant=self.tenant, custom=custom)
        if setting_form.is_valid():
            data = dict(setting_form.cleaned_data)
            kpi = data.pop("kpi")
            unit = kpi_def(kpi, custom_labels={c.value_key: (c.name, c.unit) for c in custom}).unit
            data = _stored_values(data, unit)
            try:
                services.kpi_setting_save(self.tenant, actor=self.membership, kpi=kpi, **data)
            except ValidationError as exc:
                _errors(setting_form, exc)
            else:
                messages.success(request, "KPI setting saved.")
                return HttpResponseRedirect(request.path)
        return self.render_to_response(self.get_context_data(setting_form=setting_form), status=400)


THRESHOLDS = ("target", "green_from", "amber_from")


def _stored_values(data: dict[str, Any], unit: str) -> dict[str, Any]:
    """Form values as stored: percent KPIs are entered in % and kept as fractions."""
    data = dict(data)
    for name in THRESHOLDS:
        if data.get(name) is not None and unit == RATIO:
            data[name] = data[name] / HUNDRED
    data["position"] = data.get("position") or 0
    return data


def _shown_values(setting: KpiSetting, unit: str) -> dict[str, Decimal | None]:
    """A setting's thresholds the way the page shows and edits them (% for percent KPIs)."""
    out: dict[str, Decimal | None] = {}
    for name in THRESHOLDS:
        value = getattr(setting, name)
        if value is not None and unit == RATIO:
            value = value * HUNDRED
        if value is not None:
            # 100, not 1E+2 or 100.0000000000
            value = (
                value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()
            )
        out[name] = value
    return out


def _setting_row(setting: KpiSetting, labels: dict[str, tuple[str, str]]) -> dict[str, Any]:
    definition = kpi_def(setting.kpi, custom_labels=labels)
    shown = _shown_values(setting, definition.unit)
    suffix = "%" if definition.unit == RATIO else ""
    return {
        "setting": setting,
        "kpi": definition,
        **{
            name: f"{value:f}{suffix}" if value is not None else "—"
            for name, value in shown.items()
        },
    }


class SettingEditView(TenantViewMixin, View):
    """Change what an existing setting says (shown, direction, target,
    thresholds, position); its KPI and scope stay. With htmx the row of the
    settings table turns into the form and back; without it, a page."""

    allowed_roles = ADMIN
    model = KpiSetting

    def _render(
        self, request: HttpRequest, setting: KpiSetting, form: KpiSettingValuesForm, status: int
    ) -> HttpResponse:
        labels = selectors.custom_labels(self.tenant)
        context = {"row": _setting_row(setting, labels), "form": form, "tenant": self.tenant}
        if getattr(request, "htmx", False):
            # htmx swaps only 2xx answers: the row with its errors comes back as 200.
            return render(request, "kpis/_setting_edit_row.html", context)
        return render(request, "kpis/setting_edit.html", context, status=status)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        setting = get_object_or_404(self.get_queryset().select_related("team"), pk=kwargs["pk"])
        unit = kpi_def(setting.kpi, custom_labels=selectors.custom_labels(self.tenant)).unit
        initial = {
            "is_shown": setting.is_shown,
            "direction": setting.direction,
            "position": setting.position,
            **_shown_values(setting, unit),
        }
        if request.GET.get("cancel") and getattr(request, "htmx", False):
            context = {"row": _setting_row(setting, selectors.custom_labels(self.tenant))}
            return render(request, "kpis/_setting_row.html", {**context, "tenant": self.tenant})
        return self._render(request, setting, KpiSettingValuesForm(initial=initial), 200)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        setting = get_object_or_404(self.get_queryset().select_related("team"), pk=kwargs["pk"])
        labels = selectors.custom_labels(self.tenant)
        form = KpiSettingValuesForm(request.POST)
        if form.is_valid():
            unit = kpi_def(setting.kpi, custom_labels=labels).unit
            try:
                setting = services.kpi_setting_save(
                    self.tenant,
                    actor=self.membership,
                    kpi=setting.kpi,
                    role=setting.role,
                    team=setting.team,
                    **_stored_values(form.cleaned_data, unit),
                )
            except ValidationError as exc:
                _errors(form, exc)
            else:
                if getattr(request, "htmx", False):
                    return render(
                        request,
                        "kpis/_setting_row.html",
                        {
                            "row": _setting_row(setting, labels),
                            "tenant": self.tenant,
                            "saved": True,
                        },
                    )
                messages.success(request, "KPI setting saved.")
                return HttpResponseRedirect(reverse("kpis:settings", args=[self.tenant.slug]))
        return self._render(request, setting, form, 400)


def _errors(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class SettingDeleteView(TenantViewMixin, View):
    allowed_roles = ADMIN
    model = KpiSetting

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        setting = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        services.kpi_setting_delete(self.tenant, actor=self.membership, setting=setting)
        messages.success(request, "KPI setting removed.")
        return HttpResponseRedirect(reverse("kpis:settings", args=[self.tenant.slug]))


class CustomKpiDeleteView(TenantViewMixin, View):
    allowed_roles = ADMIN
    model = CustomKpi

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        kpi = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        services.custom_kpi_delete(self.tenant, actor=self.membership, kpi=kpi)
        messages.success(request, f"Custom KPI '{kpi.name}' removed.")
        return HttpResponseRedirect(reverse("kpis:settings", args=[self.tenant.slug]))
