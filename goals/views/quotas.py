"""The quota grid: inline editing, allocation, spreading, CSV export and import,
history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.views.generic import DetailView, TemplateView, View

from goals import csvio, selectors, services
from goals.forms import (
    AllocateForm,
    ImportForm,
    SpreadForm,
)
from goals.models import Measure, Quota
from goals.views.base import GRID_ROLES, VIEWS, GoalsPageMixin, _int
from spm.formatting import current_formats
from spm.forms import form_errors_add
from spm.models import FiscalPeriod, Membership, Team
from spm.permissions import MANAGERS

# A company's grid is hundreds of reps with an input per cell: the page shows
# this many teams (each with its reps, sum and gap) at a time; the totals
# row is the whole grid's.
GRID_TEAMS_PER_PAGE = 10


class QuotaGridView(GoalsPageMixin, TemplateView):
    """The subtree's quotas for one fiscal year: rows teams and reps, columns
    periods, with totals, bottom-up sums and gaps, ``GRID_TEAMS_PER_PAGE``
    teams a page. Reps get a 403."""

    template_name = "goals/quota_grid.html"
    allowed_roles = GRID_ROLES

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        grid = self.requested_grid()
        years = sorted(
            set(
                FiscalPeriod.objects.filter(tenant=self.tenant, kind="year").values_list(
                    "fiscal_year", flat=True
                )
            )
        )
        scope = selectors.quota_scope(self.tenant, viewer=self.membership)
        teams = Paginator(grid.sections, GRID_TEAMS_PER_PAGE).get_page(self.grid_page())
        grid.records_attach(
            self.tenant,
            [row for section in teams for row in (section.team_row, *section.member_rows)],
        )
        context.update(
            grid=grid,
            teams=teams,
            grid_params=self.grid_params(),
            years=years,
            views=VIEWS,
            measures=Measure.choices,
            can_edit=scope.can_write_any,
            grid_query=self.grid_url().split("?")[1],
        )
        return context


class QuotaCellView(GoalsPageMixin, View):
    """Save one cell of the grid (htmx, ``services.quota_cell_save``). Answers
    the cell, with the message beside it when refused, and on success every
    total out of band."""

    allowed_roles = MANAGERS

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        subject = request.POST.get("subject", "")
        target = selectors.quota_subject(self.tenant, viewer=self.membership, key=subject)
        if target is None:
            raise Http404("Not found.")
        period = get_object_or_404(
            FiscalPeriod.objects.filter(tenant=self.tenant), pk=_int(request.POST.get("period"), 0)
        )
        raw = request.POST.get("amount", "").strip()
        error = ""
        try:
            measure = self.measure()
        except BadRequest as exc:
            measure, error = Measure.BOOKINGS, str(exc)
        else:
            try:
                services.quota_cell_save(
                    self.tenant,
                    actor=self.membership,
                    period=period,
                    text=current_formats().plain(raw),
                    measure=measure,
                    membership=target if isinstance(target, Membership) else None,
                    team=target if isinstance(target, Team) else None,
                    version=request.POST.get("version"),
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
        grid = selectors.quota_grid(
            self.tenant,
            viewer=self.membership,
            fiscal_year=period.fiscal_year,
            kind=period.kind,
            measure=measure,
        )
        row = next((r for r in grid.rows() if r.key == subject), None)
        if row is None:
            raise Http404("Not found.")
        grid.records_attach(self.tenant, [row])
        cell = next(c for c in row.cells if c.period.pk == period.pk)
        context = {
            "grid": grid,
            "row": row,
            "cell": cell,
            "error": error,
            "raw": raw,
            "can_edit": True,
            "tenant": self.tenant,
            "grid_query": f"year={period.fiscal_year}&view={period.kind}&measure={measure}",
        }
        html = render_to_string("goals/partials/grid_cell.html", context, request=request)
        if not error:
            html += render_to_string("goals/partials/grid_totals.html", context, request=request)
        return HttpResponse(html)


class TeamWriteMixin(GoalsPageMixin):
    """The team named by ``?team=``, which the member must be allowed to write."""

    def get_team(self) -> Team:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        team = get_object_or_404(
            Team.objects.filter(tenant=self.tenant), pk=_int(source.get("team"), 0)
        )
        scope = selectors.quota_scope(self.tenant, viewer=self.membership)
        if not scope.can_write(membership_id=None, team_id=team.pk):
            raise Http404("Not found.")
        return team

    def dialog_write(self, team: Team, form: Any, write: Callable[[], str]) -> HttpResponse:
        """Run ``write`` (one service call, returning the success message) for a
        valid ``form`` and go back to the grid; a ``ValidationError`` from it
        shows beside the form's fields in the dialog again."""
        if form.is_valid():
            try:
                message = write()
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(self.request, message)
                return self.redirect_to_grid()
        return self.render_to_response(self.get_context_data(team=team, form=form))  # type: ignore[attr-defined]


class QuotaAllocateView(TeamWriteMixin, TemplateView):
    """Allocate a team quota top-down (dialog on the grid)."""

    template_name = "goals/partials/allocate_dialog.html"
    allowed_roles = MANAGERS

    def form(self, team: Team, period: FiscalPeriod, data: Any = None) -> AllocateForm:
        targets = selectors.allocation_targets(self.tenant, team=team, period=period)
        initial: dict[str, Any] = {"period": period.pk}
        existing = Quota.objects.filter(
            tenant=self.tenant, team=team, period=period, measure=self.measure()
        ).first()
        if existing is not None:
            initial["amount"] = existing.amount
        return AllocateForm(
            data,
            tenant=self.tenant,
            fiscal_year=self.fiscal_year(),
            targets=targets,
            initial=initial,
        )

    def selected_period(self) -> FiscalPeriod:
        """The period asked for, else the grid's first open period of its kind."""
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        pk = _int(source.get("period"), 0)
        periods = FiscalPeriod.objects.filter(tenant=self.tenant)
        if pk:
            return get_object_or_404(periods, pk=pk)
        year = periods.filter(fiscal_year=self.fiscal_year(), kind=self.grid_kind()).order_by(
            "is_closed", "start"
        )
        period = year.first()
        if period is None:
            raise Http404("No periods for this year.")
        return period

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        team = kwargs.get("team") or self.get_team()
        period = self.selected_period()
        context.update(
            team=team,
            form=kwargs.get("form") or self.form(team, period),
            grid_query=self.grid_url().split("?")[1],
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        team = self.get_team()
        period = self.selected_period()
        form = self.form(team, period, request.POST)

        def allocate() -> str:
            data = form.cleaned_data
            result = services.quota_allocate(
                self.tenant,
                actor=self.membership,
                team=team,
                period=data["period"],
                amount=data["amount"],
                method=data["method"],
                manual_weights=form.manual_weights(),
                unit=data["unit"],
                factor=data["factor"],
                measure=self.measure(),
            )
            parts = ", ".join(f"{p.label} {p.amount:,.2f}" for p in result.parts)
            return (
                f"Allocated {result.allocated_total:,.2f} of "
                f"{team.name}'s {data['period'].label} quota: {parts}."
            )

        return self.dialog_write(team, form, allocate)


class QuotaSpreadView(TeamWriteMixin, TemplateView):
    """Spread a team's (and its reps') quarter or year quotas to months."""

    template_name = "goals/partials/spread_dialog.html"
    allowed_roles = MANAGERS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        team = kwargs.get("team") or self.get_team()
        context.update(
            team=team,
            grid_query=self.grid_url().split("?")[1],
            form=kwargs.get("form")
            or SpreadForm(tenant=self.tenant, fiscal_year=self.fiscal_year()),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        team = self.get_team()
        form = SpreadForm(request.POST, tenant=self.tenant, fiscal_year=self.fiscal_year())

        def spread() -> str:
            period = form.cleaned_data["period"]
            profile = form.cleaned_data["profile"]
            scope = selectors.quota_scope(self.tenant, viewer=self.membership)
            members = [
                m
                for m in selectors.allocation_targets(self.tenant, team=team, period=period)
                if isinstance(m, Membership) and scope.can_write(membership_id=m.pk, team_id=None)
            ]
            quotas = services.quota_spread(
                self.tenant,
                actor=self.membership,
                period=period,
                members=members,
                teams=[team],
                measure=self.measure(),
                profile=profile,
            )
            how = profile.name if profile else "evenly"
            return (
                f"Spread {period.label} to months ({how}): "
                f"{len(quotas)} monthly quotas for {team.name}."
            )

        return self.dialog_write(team, form, spread)


class QuotaExportView(GoalsPageMixin, View):
    """The grid as CSV (format in goals.csvio)."""

    allowed_roles = GRID_ROLES

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grid = self.requested_grid()
        response = HttpResponse(csvio.grid_to_csv(grid), content_type="text/csv; charset=utf-8")
        name = f"quotas-{self.tenant.slug}-FY{grid.fiscal_year}-{grid.kind}-{grid.measure}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class QuotaImportView(GoalsPageMixin, TemplateView):
    """Upload the grid's CSV; all or nothing, errors by line and column."""

    template_name = "goals/quota_import.html"
    allowed_roles = MANAGERS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportForm())
        context.update(
            year=self.fiscal_year(),
            view=self.grid_kind(),
            measure=self.measure(),
            view_label=VIEWS[self.grid_kind()],
            grid_url=self.grid_url(),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            result = services.quota_import_csv(
                self.tenant,
                actor=self.membership,
                fiscal_year=self.fiscal_year(),
                kind=self.grid_kind(),
                measure=self.measure(),
                text=form.cleaned_data["file"],
            )
            if not result.errors:
                messages.success(
                    request, f"Imported {result.cells} cells: {result.changed} quotas changed."
                )
                return HttpResponseRedirect(self.grid_url())
            return self.render_to_response(
                self.get_context_data(form=form, import_errors=result.errors)
            )
        return self.render_to_response(self.get_context_data(form=form))


class QuotaHistoryView(GoalsPageMixin, DetailView):
    """Every change of one quota: who, when, old and new."""

    template_name = "goals/quota_history.html"
    model = Quota
    context_object_name = "quota"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.quotas_visible(self.tenant, viewer=self.membership).select_related(
            "period", "membership__user", "team"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["changes"] = selectors.quota_history(self.tenant, quota=self.object)
        return context
