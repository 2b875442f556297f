"""Forecast pages (docs/architecture.md, "Forecasting"): the manager's grid,
a member's deals by category with their call, and the two writes behind
them (a deal's category, a call). Reach: a rep their own page, a manager
their subtree, admins and finance everyone; outside it 404. Finance reads.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.generic import DetailView, TemplateView, View

from kpis import charts
from kpis.forms import ForecastCallForm
from kpis.selectors.forecast import forecast_grid, top_managed_team
from kpis.views.common import PeriodMixin
from pipeline.forecast import selectors as forecast_selectors
from pipeline.forecast import services as forecast_services
from pipeline.forecast import snapshots
from pipeline.forecast.backtest import accuracy_by_subject
from pipeline.models import AccuracyMethod, AsOfPoint, Deal, ForecastCategory, SubjectKind
from spm.forms import form_errors_add
from spm.models import FiscalPeriod, Membership, Team
from spm.permissions import SELLERS
from spm.tenancy.views import TenantViewMixin


class ForecastGridView(PeriodMixin, TemplateView):
    """A member's forecast grid (default: the caller; admins and finance the
    top of the company): their total and a line per direct report. A member
    without reports goes to their own deals page."""

    template_name = "kpis/forecast.html"
    model = Membership

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.members())

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = self.get_context_data(**kwargs)
        if context.get("redirect"):
            return HttpResponseRedirect(context["redirect"])
        return self.render_to_response(context)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.period is None:
            return context
        tree = forecast_selectors.forecast_tree(self.tenant)
        rollup = forecast_selectors.forecast_rollup(self.tenant, period=self.period, tree=tree)
        member_id = self._member_id(rollup)
        if not rollup.row(member_id).has_reports:
            url = reverse("kpis:forecast-member", args=[self.tenant.slug, member_id])
            context["redirect"] = f"{url}?period={self.period.pk}"
            return context
        grid = forecast_grid(self.tenant, rollup=rollup, member_id=member_id)
        context.update(grid_context(self, grid, rollup))
        owners = tree.subtree(member_id)
        team_id = top_managed_team(self.tenant, [member_id]).get(member_id)
        context.update(
            forecast_panels(
                self.tenant,
                period=self.period,
                owners=owners,
                name=rollup.row(member_id).member.display_name,
                stat=forecast_selectors.stat_forecast_for(
                    self.tenant, period=self.period, kind="team", subject_id=team_id or 0
                ),
            )
        )
        return context

    def _member_id(self, rollup: forecast_selectors.Rollup) -> int:
        asked = self.request.GET.get("member", "")
        if asked.isdigit():
            member = get_object_or_404(self.get_queryset(), pk=int(asked))
            if member.pk not in rollup.rows:
                raise Http404("No such member.")
            return member.pk
        if self.membership.pk in rollup.rows and rollup.row(self.membership.pk).has_reports:
            return self.membership.pk
        if self.reach.reads_all:
            tops = [pk for pk in rollup.roots if rollup.row(pk).has_reports]
            if tops:
                return tops[0]
        return self.membership.pk


def forecast_panels(
    tenant: Any, *, period: FiscalPeriod, owners: list[int], name: str, stat: Any
) -> dict[str, Any]:
    """The trend and waterfall charts of ``owners``' deals, their statistical
    forecast and the open deals it expects most from, with their factors."""
    trend = snapshots.forecast_trend(tenant, period=period, owner_ids=owners)
    waterfall = snapshots.forecast_waterfall(tenant, period=period, owner_ids=owners)
    odds = list(forecast_selectors.deal_odds_for(tenant, period=period, owner_ids=owners)[:10])
    return {
        "stat": stat,
        "waterfall": waterfall,
        "odds": [
            (o, forecast_selectors.odds_factors(o, stage_name=o.deal.stage.name)) for o in odds
        ],
        "figures": {
            "trend": charts.forecast_trend(
                trend, title=f"{name}: forecast by week · {period.label}"
            ),
            "waterfall": charts.forecast_waterfall(
                waterfall, title="Closed + commit: what moved since last week"
            ),
        },
    }


def grid_context(view: Any, grid: Any, rollup: Any) -> dict[str, Any]:
    """What the grid template and its htmx partial need."""
    member = grid.total.row.member
    return {
        "grid": grid,
        "rollup": rollup,
        "subject": member,
        "can_call": view.reach.allowed(SELLERS)
        and (member.pk == view.membership.pk or view.reach.manage_ids.has_member(member.pk)),
        "form": ForecastCallForm(
            initial={"adjustment": grid.total.row.adjustment, "member": member.pk}
        ),
        "company": rollup.company if view.reach.reads_all else None,
        "company_call": rollup.company_call if view.reach.reads_all else None,
    }


class ForecastMemberView(PeriodMixin, DetailView):
    """A member's forecast: their deals of the period by category (the owner
    or their manager changes a category), their call with its history."""

    model = Membership
    template_name = "kpis/forecast_member.html"
    context_object_name = "subject"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.members()).select_related("user", "team")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.period is None:
            return context
        member = self.object
        tree = forecast_selectors.forecast_tree(self.tenant, under=member.pk)
        if member.pk not in tree.members:
            raise Http404("No such member.")
        rollup = forecast_selectors.forecast_rollup(
            self.tenant, period=self.period, tree=tree, under=member.pk
        )
        row = rollup.row(member.pk)
        deals = list(
            forecast_selectors.forecast_deals(self.tenant, period=self.period, owner_id=member.pk)
        )
        writable = self.reach.allowed(SELLERS) and self.reach.includes(member)
        context.update(
            forecast_panels(
                self.tenant,
                period=self.period,
                owners=[member.pk],
                name=member.display_name,
                stat=forecast_selectors.stat_forecast_for(
                    self.tenant, period=self.period, kind="member", subject_id=member.pk
                ),
            )
        )
        context.update(
            row=row,
            groups=deal_groups(deals),
            categories=ForecastCategory.choices,
            can_change=writable,
            can_call=self.reach.allowed(SELLERS)
            and (member.pk == self.membership.pk or self.reach.manage_ids.has_member(member.pk)),
            form=ForecastCallForm(initial={"amount": row.call, "member": member.pk}),
            history=forecast_selectors.forecast_call_history(
                self.tenant, period=self.period, member_ids=[member.pk]
            ),
        )
        return context


def deal_groups(deals: list[Deal]) -> list[tuple[str, str, list[Deal]]]:
    """(key, label, deals) for closed and each category, in forecast order."""
    order = [
        ("closed", "Closed won"),
        (ForecastCategory.COMMIT, "Commit"),
        (ForecastCategory.BEST_CASE, "Best case"),
        (ForecastCategory.PIPELINE, "Pipeline"),
        (ForecastCategory.OMITTED, "Omitted"),
    ]
    keyed = {key: [] for key, _label in order}  # type: dict[str, list[Deal]]
    for deal in deals:
        keyed["closed" if deal.status == "won" else deal.forecast_category].append(deal)
    return [(key, label, keyed[key]) for key, label in order]


class DealCategoryView(PeriodMixin, View):
    """POST a deal's category (the owner or their manager); htmx gets the
    deal's row back, a plain form the member page."""

    model = Deal
    allowed_roles = SELLERS

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.deals()).select_related("owner", "stage")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        deal = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        if not self.reach.may_write_deal(deal):
            raise PermissionDenied("You may read this deal but not change it.")
        error = ""
        try:
            deal = forecast_services.deal_category_set(
                self.tenant,
                deal=deal,
                category=request.POST.get("forecast_category", ""),
                actor=self.membership,
            )
        except ValidationError as exc:
            error = " ".join(m for ms in exc.message_dict.values() for m in ms)
        if request.headers.get("HX-Request"):
            # htmx swaps 200 answers only: the row comes back with its error.
            return render(
                request,
                "kpis/partials/forecast_deal_row.html",
                {
                    "deal": deal,
                    "error": error,
                    "categories": ForecastCategory.choices,
                    "can_change": True,
                },
                status=200,
            )
        url = reverse("kpis:forecast-member", args=[self.tenant.slug, deal.owner_id])
        return HttpResponseRedirect(url)


class ForecastCallView(PeriodMixin, View):
    """POST a call: a member's amount, or a manager's adjustment (inline in the
    grid). htmx gets the grid or the call card back, with errors beside the field."""

    model = Membership
    allowed_roles = SELLERS

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.members())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        period = get_object_or_404(
            FiscalPeriod.objects.filter(tenant=self.tenant), pk=request.POST.get("period") or 0
        )
        form = ForecastCallForm(request.POST)
        member = self.membership
        if form.is_valid():
            member = get_object_or_404(
                self.get_queryset(), pk=form.cleaned_data.get("member") or self.membership.pk
            )
            try:
                forecast_services.forecast_call_submit(
                    self.tenant,
                    period=period,
                    actor=self.membership,
                    member=member,
                    amount=form.cleaned_data.get("amount"),
                    adjustment=form.cleaned_data.get("adjustment"),
                    note=form.cleaned_data.get("note") or "",
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
        if form.errors:
            return self._errors(request, form)
        if request.POST.get("adjustment"):
            url = reverse("kpis:forecast", args=[self.tenant.slug])
            url += f"?period={period.pk}&member={member.pk}"
        else:
            url = reverse("kpis:forecast-member", args=[self.tenant.slug, member.pk])
            url += f"?period={period.pk}"
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)

    def _errors(self, request: HttpRequest, form: ForecastCallForm) -> HttpResponse:
        # htmx swaps 200 answers only: the errors go beside the form.
        status = 200 if request.headers.get("HX-Request") else 400
        return render(
            request, "kpis/partials/forecast_call_errors.html", {"form": form}, status=status
        )


class ForecastAccuracyView(TenantViewMixin, TemplateView):
    """How accurate each method was at a point of past quarters (``?point=``,
    default week 4), per team and per person in reach: rep and manager calls,
    weighted pipeline and the statistical forecast (from the backtest)."""

    template_name = "kpis/forecast_accuracy.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        point = self.request.GET.get("point", AsOfPoint.WEEK_4)
        if point not in AsOfPoint.values:
            point = AsOfPoint.WEEK_4
        scope = self.reach.subjects(member=SubjectKind.MEMBER, team=SubjectKind.TEAM)
        rows = accuracy_by_subject(self.tenant, point=point, scope=scope)
        names = subject_names(self.tenant, rows)
        methods = AccuracyMethod.values

        def line(r: Any) -> tuple[str, list[Any], int]:
            cells = [(r.accuracy[m], r.bias[m]) if m in r.accuracy else None for m in methods]
            return names.get((r.kind, r.subject_id), "Company"), cells, r.periods

        company = [line(r) for r in rows if r.kind == "company"]
        context.update(
            point=point,
            points=AsOfPoint.choices,
            methods=AccuracyMethod.choices,
            groups=[
                (label, [line(r) for r in rows if r.kind == kind], f"accuracy-{kind}")
                for kind, label in (("team", "Teams"), ("member", "People"))
                if any(r.kind == kind for r in rows)
            ],
            company=company[0] if company else None,
            company_rows=company,
        )
        return context


def subject_names(tenant: Any, rows: list[Any]) -> dict[tuple[str, int], str]:
    """Names of the teams and members of ``rows`` (two queries)."""
    team_ids = [r.subject_id for r in rows if r.kind == "team"]
    member_ids = [r.subject_id for r in rows if r.kind == "member"]
    names = {
        ("team", pk): name
        for pk, name in Team.objects.filter(tenant=tenant, pk__in=team_ids).values_list(
            "id", "name"
        )
    }
    names.update(
        {
            ("member", m.pk): m.display_name
            for m in Membership.objects.filter(tenant=tenant, pk__in=member_ids).select_related(
                "user"
            )
        }
    )
    return names
