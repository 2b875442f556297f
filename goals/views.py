"""Pages of the goals pillar: my targets, the quota grid (inline editing,
allocation, spreading, CSV), SMART goals with approval and check-ins, the
alignment tree, and MBO objectives with scoring. Thin: forms validate, the
services decide, the selectors read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView, View

from goals import csvio, selectors, services
from goals.forms import (
    AllocateForm,
    CheckInForm,
    GoalForm,
    ImportForm,
    ObjectiveFormSet,
    ScoreFormSet,
    SpreadForm,
)
from goals.models import Goal, GoalLevel, GoalStatus, Measure, Quota
from goals.smart import parse_number
from spm import selectors as core_selectors
from spm.models import FiscalPeriod, Membership, Role, Team
from spm.periods import fiscal_year_of
from spm.permissions import MANAGERS
from spm.tenancy.views import TenantViewMixin

GRID_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.FINANCE})
VIEWS = {"month": "Months", "quarter": "Quarters", "year": "Year"}
HUNDRED = Decimal(100)


def _apply_errors(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _plain(value: Decimal) -> Decimal:
    """40.000000 -> 40 (no exponent, for form initial values)."""
    return Decimal(format(value.normalize(), "f"))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


class GoalsPageMixin(TenantViewMixin):
    """The fiscal year and grid settings a page was asked for."""

    def fiscal_year(self) -> int:
        current = fiscal_year_of(timezone.localdate(), self.tenant.fiscal_year_start_month)
        return _int(self.request.GET.get("year") or self.request.POST.get("year"), current)

    def grid_kind(self) -> str:
        kind = self.request.GET.get("view") or self.request.POST.get("view") or "month"
        return kind if kind in VIEWS else "month"

    def measure(self) -> str:
        measure = self.request.GET.get("measure") or self.request.POST.get("measure")
        return measure if measure in Measure.values else Measure.BOOKINGS

    def grid_url(self) -> str:
        base = reverse("goals:quota-grid", kwargs={"tenant_slug": self.tenant.slug})
        return f"{base}?year={self.fiscal_year()}&view={self.grid_kind()}&measure={self.measure()}"

    def redirect_to_grid(self) -> HttpResponse:
        if getattr(self.request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = self.grid_url()
            return response
        return HttpResponseRedirect(self.grid_url())


# Home ---------------------------------------------------------------------------------


class GoalsHomeView(GoalsPageMixin, TemplateView):
    """My quotas for the year, my goals with progress, my objectives and score."""

    template_name = "goals/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        year = self.fiscal_year()
        quotas = list(
            Quota.objects.filter(
                tenant=self.tenant, membership=self.membership, period__fiscal_year=year
            )
            .select_related("period", "membership")
            .order_by("period__start", "-period__end")
        )
        for quota in quotas:
            quota.prorated = selectors.effective_member_quota(quota)  # type: ignore[attr-defined]
        context.update(
            year=year,
            quotas=quotas,
            goals=list(
                Goal.objects.filter(tenant=self.tenant, owner_membership=self.membership)
                .select_related("parent")
                .order_by("due_date")
            ),
            objective_sets=selectors.objective_sets(
                self.tenant, viewer=self.membership, membership=self.membership
            ),
            can_open_grid=self.membership.role in GRID_ROLES,
        )
        return context


# The quota grid -------------------------------------------------------------------------


class QuotaGridView(GoalsPageMixin, TemplateView):
    """The subtree's quotas for one fiscal year: rows teams and reps, columns
    periods, with totals, bottom-up sums and gaps. Reps get a 403."""

    template_name = "goals/quota_grid.html"
    allowed_roles = GRID_ROLES

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        grid = selectors.quota_grid(
            self.tenant,
            viewer=self.membership,
            fiscal_year=self.fiscal_year(),
            kind=self.grid_kind(),
            measure=self.measure(),
        )
        years = sorted(
            set(
                FiscalPeriod.objects.filter(tenant=self.tenant, kind="year").values_list(
                    "fiscal_year", flat=True
                )
            )
        )
        scope = selectors.quota_scope(self.tenant, viewer=self.membership)
        context.update(
            grid=grid,
            years=years,
            views=VIEWS,
            measures=Measure.choices,
            can_edit=scope.can_write_any,
            grid_query=self.grid_url().split("?")[1],
        )
        return context


class QuotaCellView(GoalsPageMixin, View):
    """Save one cell of the grid (htmx). Answers the cell, with the message
    beside it when refused, and on success every total out of band."""

    allowed_roles = MANAGERS

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        scope = selectors.quota_scope(self.tenant, viewer=self.membership)
        subject = request.POST.get("subject", "")
        membership = team = None
        if subject.startswith("m") and subject[1:].isdigit():
            membership = get_object_or_404(
                Membership.objects.filter(tenant=self.tenant).select_related("user"),
                pk=int(subject[1:]),
            )
            if not scope.can_read(membership_id=membership.pk, team_id=None):
                raise Http404("Not found.")
        elif subject.startswith("t") and subject[1:].isdigit():
            team = get_object_or_404(Team.objects.filter(tenant=self.tenant), pk=int(subject[1:]))
            if not scope.can_read(membership_id=None, team_id=team.pk):
                raise Http404("Not found.")
        else:
            raise Http404("Not found.")
        period = get_object_or_404(
            FiscalPeriod.objects.filter(tenant=self.tenant), pk=_int(request.POST.get("period"), 0)
        )
        raw = request.POST.get("amount", "").strip()
        error = ""
        amount, given = parse_number(raw)
        try:
            if not given:
                existing = Quota.objects.filter(
                    tenant=self.tenant,
                    period=period,
                    measure=self.measure(),
                    membership=membership,
                    team=team,
                ).first()
                if existing is not None:
                    services.quota_delete(self.tenant, actor=self.membership, quota=existing)
            elif amount is None:
                error = f"'{raw}' is not a number; enter an amount like 90000.00."
            else:
                services.quota_set(
                    self.tenant,
                    actor=self.membership,
                    period=period,
                    amount=amount,
                    membership=membership,
                    team=team,
                    measure=self.measure(),
                )
        except ValidationError as exc:
            error = " ".join(m for messages_ in exc.message_dict.values() for m in messages_)
        grid = selectors.quota_grid(
            self.tenant,
            viewer=self.membership,
            fiscal_year=period.fiscal_year,
            kind=period.kind,
            measure=self.measure(),
        )
        row = next((r for r in grid.rows() if r.key == subject), None)
        if row is None:
            raise Http404("Not found.")
        cell = next(c for c in row.cells if c.period.pk == period.pk)
        context = {
            "grid": grid,
            "row": row,
            "cell": cell,
            "error": error,
            "raw": raw,
            "can_edit": True,
            "tenant": self.tenant,
            "grid_query": f"year={period.fiscal_year}&view={period.kind}&measure={self.measure()}",
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
        if form.is_valid():
            data = form.cleaned_data
            try:
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
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                parts = ", ".join(f"{p.label} {p.amount:,.2f}" for p in result.parts)
                messages.success(
                    request,
                    f"Allocated {result.allocated_total:,.2f} of "
                    f"{team.name}'s {data['period'].label} quota: {parts}.",
                )
                return self.redirect_to_grid()
        return self.render_to_response(self.get_context_data(team=team, form=form))


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
        if form.is_valid():
            period = form.cleaned_data["period"]
            scope = selectors.quota_scope(self.tenant, viewer=self.membership)
            members = [
                m
                for m in selectors.allocation_targets(self.tenant, team=team, period=period)
                if isinstance(m, Membership) and scope.can_write(membership_id=m.pk, team_id=None)
            ]
            try:
                quotas = services.quota_spread(
                    self.tenant,
                    actor=self.membership,
                    period=period,
                    members=members,
                    teams=[team],
                    measure=self.measure(),
                    profile=form.cleaned_data["profile"],
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                how = (
                    form.cleaned_data["profile"].name if form.cleaned_data["profile"] else "evenly"
                )
                messages.success(
                    request,
                    f"Spread {period.label} to months ({how}): "
                    f"{len(quotas)} monthly quotas for {team.name}.",
                )
                return self.redirect_to_grid()
        return self.render_to_response(self.get_context_data(team=team, form=form))


class QuotaExportView(GoalsPageMixin, View):
    """The grid as CSV (format in goals.csvio)."""

    allowed_roles = GRID_ROLES

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grid = selectors.quota_grid(
            self.tenant,
            viewer=self.membership,
            fiscal_year=self.fiscal_year(),
            kind=self.grid_kind(),
            measure=self.measure(),
        )
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


# Goals ----------------------------------------------------------------------------------


class GoalListView(GoalsPageMixin, ListView):
    template_name = "goals/goal_list.html"
    model = Goal
    context_object_name = "goals"
    paginate_by = 100

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = selectors.goals_visible(self.tenant, viewer=self.membership)
        status = self.request.GET.get("status")
        if status in GoalStatus.values:
            qs = qs.filter(status=status)
        level = self.request.GET.get("level")
        if level in GoalLevel.values:
            qs = qs.filter(level=level)
        return qs.select_related("owner_membership__user", "owner_team", "parent").order_by(
            "level", "due_date", "id"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(statuses=GoalStatus.choices, levels=GoalLevel.choices)
        return context


class GoalFormView(GoalsPageMixin, TemplateView):
    """Create (no pk) or edit a SMART goal; a vague goal is refused with one
    message per missing or weak property."""

    template_name = "goals/goal_form.html"
    model = Goal

    def get_goal(self) -> Goal | None:
        pk = self.kwargs.get("pk")
        return get_object_or_404(self.get_queryset(), pk=pk) if pk else None

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.goals_visible(self.tenant, viewer=self.membership)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        goal = kwargs.get("goal", self.get_goal())
        if "form" not in context:
            if goal is not None:
                initial = {name: getattr(goal, name) for name in services.GOAL_FIELDS}
                initial["target_value"] = format(goal.target_value.normalize(), "f")
                initial["baseline_value"] = format(goal.baseline_value.normalize(), "f")
            else:
                initial = {
                    "level": GoalLevel.MEMBER,
                    "owner_membership": self.membership.pk,
                    "parent": self.request.GET.get("parent"),
                }
            context["form"] = GoalForm(
                tenant=self.tenant, viewer=self.membership, goal=goal, initial=initial
            )
        context["goal"] = goal
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        goal = self.get_goal()
        form = GoalForm(request.POST, tenant=self.tenant, viewer=self.membership, goal=goal)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if goal is None:
                    goal = services.goal_create(
                        self.tenant, actor=self.membership, submit="propose" in request.POST, **data
                    )
                    messages.success(request, f"Goal '{goal.title}' saved as {goal.status}.")
                else:
                    goal = services.goal_update(
                        self.tenant, actor=self.membership, goal=goal, **data
                    )
                    messages.success(request, f"Goal '{goal.title}' saved.")
            except ValidationError as exc:
                _apply_errors(form, exc)
                form.smart_summary = exc.message_dict.get("smart", [""])[0]
            else:
                return HttpResponseRedirect(
                    reverse(
                        "goals:goal-detail", kwargs={"tenant_slug": self.tenant.slug, "pk": goal.pk}
                    )
                )
        return self.render_to_response(self.get_context_data(form=form, goal=goal))


class GoalObjectMixin(GoalsPageMixin):
    model = Goal

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.goals_visible(self.tenant, viewer=self.membership).select_related(
            "owner_membership__user", "owner_team", "parent", "approved_by__user"
        )

    def goal(self) -> Goal:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def goal_url(self, goal: Goal) -> str:
        return reverse("goals:goal-detail", kwargs={"tenant_slug": self.tenant.slug, "pk": goal.pk})


class GoalDetailView(GoalObjectMixin, DetailView):
    template_name = "goals/goal_detail.html"
    context_object_name = "goal"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        goal = self.object
        context.update(
            can=services.goal_permissions(self.tenant, actor=self.membership, goal=goal),
            checkins=goal.checkins.filter(tenant=self.tenant).select_related("author__user"),
            children=selectors.goals_visible(self.tenant, viewer=self.membership)
            .filter(parent=goal)
            .select_related("owner_membership__user", "owner_team"),
            checkin_form=kwargs.get("checkin_form")
            or CheckInForm(initial={"checked_on": timezone.localdate()}),
        )
        return context


class GoalActionView(GoalObjectMixin, View):
    """Propose, approve, return, close (achieved / missed) or delete a goal."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        goal = self.goal()
        action = request.POST.get("action", "")
        t, actor = self.tenant, self.membership
        try:
            if action == "submit":
                services.goal_submit(t, actor=actor, goal=goal)
                messages.success(request, "Proposed for approval.")
            elif action == "approve":
                services.goal_approve(t, actor=actor, goal=goal)
                messages.success(request, "Approved.")
            elif action == "return":
                services.goal_return(
                    t, actor=actor, goal=goal, comment=request.POST.get("comment", "")
                )
                messages.success(request, "Sent back to draft.")
            elif action in ("achieved", "missed"):
                services.goal_close(t, actor=actor, goal=goal, achieved=action == "achieved")
                messages.success(request, f"Marked {action}.")
            elif action == "delete":
                services.goal_delete(t, actor=actor, goal=goal)
                messages.success(request, f"Goal '{goal.title}' deleted.")
                return HttpResponseRedirect(
                    reverse("goals:goal-list", kwargs={"tenant_slug": t.slug})
                )
            else:
                messages.error(request, "Unknown action.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(self.goal_url(goal))


class GoalCheckInView(GoalObjectMixin, View):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        goal = self.goal()
        form = CheckInForm(request.POST)
        if form.is_valid():
            try:
                services.checkin_add(
                    self.tenant,
                    actor=self.membership,
                    goal=goal,
                    value=form.cleaned_data["value"],
                    comment=form.cleaned_data["comment"],
                    checked_on=form.cleaned_data["checked_on"],
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, "Check-in recorded.")
                return HttpResponseRedirect(self.goal_url(goal))
        view = GoalDetailView()
        view.setup(request, *args, **kwargs)
        view.tenant, view.membership, view.object = self.tenant, self.membership, goal
        return view.render_to_response(view.get_context_data(checkin_form=form))


class AlignmentView(GoalsPageMixin, TemplateView):
    """The goal tree from company to rep, with each node's progress."""

    template_name = "goals/alignment.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["nodes"] = selectors.goal_tree(self.tenant, viewer=self.membership)
        return context


# Objectives -----------------------------------------------------------------------------


class ObjectivesPageMixin(GoalsPageMixin):
    def period(self) -> FiscalPeriod:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        pk = _int(source.get("period"), 0)
        if pk:
            return get_object_or_404(FiscalPeriod.objects.filter(tenant=self.tenant), pk=pk)
        period = core_selectors.period_containing(
            self.tenant, day=timezone.localdate(), kind="quarter"
        )
        if period is None:
            raise Http404("No current quarter.")
        return period


class ObjectiveListView(ObjectivesPageMixin, TemplateView):
    """Everyone's objective sets for a period that the member may see, with scores."""

    template_name = "goals/objective_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        period = self.period()
        sets = selectors.objective_sets(self.tenant, viewer=self.membership, period=period)
        with_sets = {s.membership.pk for s in sets}
        people: list[Membership] = []
        if self.membership.role in MANAGERS:
            people = [
                m
                for m in core_selectors.visible_memberships(self.tenant, viewer=self.membership)
                .filter(role=Role.REP, is_active=True)
                .select_related("user")
                if m.pk not in with_sets
            ]
        context.update(
            period=period,
            sets=sets,
            people_without=people,
            periods=FiscalPeriod.objects.filter(
                tenant=self.tenant,
                kind__in=["quarter", "year"],
                fiscal_year__in=[period.fiscal_year - 1, period.fiscal_year],
            ).order_by("start", "kind"),
        )
        return context


class ObjectiveSetView(ObjectivesPageMixin, TemplateView):
    """One member's objectives for a period: the manager edits the set (weights
    must add up to 100%) and scores it; the member sees their score."""

    template_name = "goals/objective_set.html"

    def member(self) -> Membership:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        visible = core_selectors.visible_memberships(self.tenant, viewer=self.membership)
        return get_object_or_404(visible.select_related("user"), pk=_int(source.get("member"), 0))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        member, period = (
            kwargs.get("member") or self.member(),
            kwargs.get("period") or self.period(),
        )
        found = selectors.objective_sets(
            self.tenant, viewer=self.membership, period=period, membership=member
        )
        mbo = found[0] if found else None
        objectives = mbo.objectives if mbo else []
        can_edit = (
            services.can_manage_objectives(self.tenant, actor=self.membership, membership=member)
            and not period.is_closed
        )
        if "objective_formset" not in kwargs:
            initial = [
                {
                    "objective_id": o.pk,
                    "title": o.title,
                    "weight_percent": _plain(o.weight * HUNDRED),
                    "cap_percent": _plain(o.score_cap * HUNDRED),
                }
                for o in objectives
            ]
            initial += [{"cap_percent": HUNDRED}] * (3 if not objectives else 1)
            context["objective_formset"] = ObjectiveFormSet(initial=initial, prefix="obj")
        if "score_formset" not in kwargs:
            context["score_formset"] = ScoreFormSet(
                prefix="score",
                initial=[
                    {
                        "objective_id": o.pk,
                        "score_percent": None
                        if o.current_score is None
                        else _plain(o.current_score * HUNDRED),
                        "comment": o.current_score_row.comment if o.current_score_row else "",
                    }
                    for o in objectives
                ],
            )
        context.update(
            member=member,
            period=period,
            mbo=mbo,
            objectives=objectives,
            can_edit=can_edit,
            score_rows=list(zip(objectives, context["score_formset"].forms, strict=False)),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        member, period = self.member(), self.period()
        url = (
            reverse("goals:objective-set", kwargs={"tenant_slug": self.tenant.slug})
            + f"?member={member.pk}&period={period.pk}"
        )
        if request.POST.get("action") == "scores":
            formset = ScoreFormSet(request.POST, prefix="score")
            if formset.is_valid():
                errors = services.objective_scores_save(
                    self.tenant,
                    actor=self.membership,
                    membership=member,
                    period=period,
                    scores=[
                        (
                            f.cleaned_data["objective_id"],
                            None
                            if f.cleaned_data.get("score_percent") is None
                            else f.cleaned_data["score_percent"] / HUNDRED,
                            f.cleaned_data.get("comment", ""),
                        )
                        for f in formset.forms
                    ],
                )
                if not errors:
                    messages.success(request, "Scores saved.")
                    return HttpResponseRedirect(url)
                for form in formset.forms:
                    message = errors.get(form.cleaned_data["objective_id"])
                    if message:
                        form.add_error("score_percent", message)
            return self.render_to_response(
                self.get_context_data(member=member, period=period, score_formset=formset)
            )
        objective_formset = ObjectiveFormSet(request.POST, prefix="obj")
        if objective_formset.is_valid():
            items = [
                services.ObjectiveInput(
                    title=f.cleaned_data.get("title", ""),
                    weight=(f.cleaned_data.get("weight_percent") or Decimal(0)) / HUNDRED,
                    score_cap=(f.cleaned_data.get("cap_percent") or HUNDRED) / HUNDRED,
                    pk=f.cleaned_data.get("objective_id"),
                )
                for f in objective_formset.forms
                if f.cleaned_data.get("title") or f.cleaned_data.get("weight_percent")
            ]
            try:
                services.objectives_replace(
                    self.tenant,
                    actor=self.membership,
                    membership=member,
                    period=period,
                    items=items,
                )
            except ValidationError as exc:
                return self.render_to_response(
                    self.get_context_data(
                        member=member,
                        period=period,
                        objective_objective_formset=objective_formset,
                        objective_errors=[m for ms in exc.message_dict.values() for m in ms],
                    )
                )
            messages.success(request, "Objectives saved.")
            return HttpResponseRedirect(url)
        return self.render_to_response(
            self.get_context_data(member=member, period=period, objective_objective_formset=objective_formset)
        )
