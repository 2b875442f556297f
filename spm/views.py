"""Core pages: landing, tenant home, settings, people, teams, periods, task runs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView, View

from spm import selectors, services
from spm.auth import request_user
from spm.forms import (
    MemberAddForm,
    MemberEditForm,
    TeamForm,
    TenantSettingsForm,
    form_errors_add,
)
from spm.models import FiscalPeriod, Membership, Role, TaskRun, Team
from spm.periods import fiscal_year_of
from spm.permissions import ADMIN, NOT_REPS
from spm.tenancy.views import TenantViewMixin

LAST_TENANT_SESSION_KEY = "spm_last_tenant"


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, asked for by clients that do not read the page's icon link."""
    return HttpResponsePermanentRedirect(static("spm/favicon.svg"))


@login_required
def landing(request: HttpRequest) -> HttpResponse:
    """Send the user to their tenant's home, or let them pick one."""
    with transaction.atomic():
        memberships = selectors.user_memberships(request_user(request))
    if not memberships:
        return render(request, "spm/no_tenant.html", status=200)
    last = request.session.get(LAST_TENANT_SESSION_KEY)
    chosen = next((m for m in memberships if m.tenant.slug == last), None)
    if chosen is None and len(memberships) == 1:
        chosen = memberships[0]
    if chosen is not None:
        return redirect("tenant-home", tenant_slug=chosen.tenant.slug)
    return render(request, "spm/tenant_picker.html", {"memberships": memberships})


# Settings --------------------------------------------------------------------------


class TenantSettingsView(TenantViewMixin, TemplateView):
    template_name = "spm/tenant_settings.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", TenantSettingsForm(instance=self.tenant))
        context["closed_periods"] = FiscalPeriod.objects.filter(
            tenant=self.tenant, is_closed=True
        ).count()
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = TenantSettingsForm(
            request.POST, instance=type(self.tenant).objects.get(pk=self.tenant.pk)
        )
        if form.is_valid():
            try:
                services.tenant_update(
                    self.tenant, actor=request_user(request), **form.cleaned_data
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("tenant-settings", tenant_slug=self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form))


# People ----------------------------------------------------------------------------


class PeopleListView(TenantViewMixin, ListView):
    template_name = "spm/people_list.html"
    model = Membership
    allowed_roles = NOT_REPS
    context_object_name = "members"
    paginate_by = 100

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = qs.filter(self.reach.members())
        role = self.request.GET.get("role")
        if role in Role.values:
            qs = qs.filter(role=role)
        query = self.request.GET.get("q", "").strip()
        if query:
            qs = qs.filter(
                Q(user__email__icontains=query)
                | Q(user__last_name__icontains=query)
                | Q(user__first_name__icontains=query)
            )
        return qs.select_related("user", "team").order_by("user__last_name", "user__first_name")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["roles"] = Role.choices
        context["can_edit"] = self.reach.allowed(MemberEditView.allowed_roles)
        return context


class MemberAddView(TenantViewMixin, TemplateView):
    template_name = "spm/member_form.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault(
            "form", MemberAddForm(tenant=self.tenant, initial={"start_date": timezone.localdate()})
        )
        context["adding"] = True
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = MemberAddForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            try:
                member = services.membership_add(
                    self.tenant,
                    actor=request_user(request),
                    request=request,
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request, f"{member.display_name} was added as {member.get_role_display()}."
                )
                return redirect("people-list", tenant_slug=self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form))


class MemberEditView(TenantViewMixin, DetailView):
    template_name = "spm/member_form.html"
    model = Membership
    allowed_roles = ADMIN
    context_object_name = "member"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("user", "team")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", MemberEditForm(instance=self.object, tenant=self.tenant))
        context["audit"] = selectors.audit_events_for(self.tenant, obj=self.object)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = self.get_object()
        form = MemberEditForm(
            request.POST, instance=Membership.objects.get(pk=self.object.pk), tenant=self.tenant
        )
        if form.is_valid():
            try:
                services.membership_update(
                    self.tenant,
                    membership=self.object,
                    actor=request_user(request),
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, f"{self.object.display_name} was updated.")
                return redirect("people-list", tenant_slug=self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form))


# Teams -----------------------------------------------------------------------------


class TeamListView(TenantViewMixin, ListView):
    """The team tree, with each team's manager and member count."""

    template_name = "spm/team_list.html"
    model = Team
    context_object_name = "teams"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return (
            qs.select_related("manager__user")
            .annotate(member_count=Count("members", distinct=True))
            .prefetch_related(
                Prefetch(
                    "members",
                    queryset=Membership.objects.filter(tenant=self.tenant, is_active=True)
                    .select_related("user")
                    .order_by("user__last_name"),
                )
            )
            .order_by("path")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_edit"] = self.reach.allowed(TeamFormView.allowed_roles)
        context["unassigned"] = Membership.objects.filter(
            tenant=self.tenant, team__isnull=True, is_active=True
        ).select_related("user")
        return context


class TeamFormView(TenantViewMixin, TemplateView):
    """Create (no pk) or edit a team: name, parent (move), manager."""

    template_name = "spm/team_form.html"
    model = Team
    allowed_roles = ADMIN

    def get_team(self) -> Team | None:
        pk = self.kwargs.get("pk")
        return get_object_or_404(self.get_queryset(), pk=pk) if pk else None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        team = kwargs.get("team", self.get_team())
        if "form" not in context:
            initial = {}
            if team is not None:
                initial = {"name": team.name, "parent": team.parent_id, "manager": team.manager_id}
            elif self.request.GET.get("parent"):
                initial = {"parent": self.request.GET["parent"]}
            context["form"] = TeamForm(tenant=self.tenant, team=team, initial=initial)
        context["team"] = team
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        team = self.get_team()
        if "delete" in request.POST and team is not None:
            try:
                services.team_delete(self.tenant, team=team, actor=request_user(request))
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("team-edit", tenant_slug=self.tenant.slug, pk=team.pk)
            messages.success(request, f"Team {team.name} was deleted.")
            return redirect("team-list", tenant_slug=self.tenant.slug)
        form = TeamForm(request.POST, tenant=self.tenant, team=team)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if team is None:
                    team = services.team_create(self.tenant, actor=request_user(request), **data)
                    messages.success(request, f"Team {team.name} was created.")
                else:
                    services.team_update(
                        self.tenant,
                        team=team,
                        actor=request_user(request),
                        name=data["name"],
                        manager=data["manager"],
                        parent=data["parent"],
                    )
                    messages.success(request, f"Team {data['name']} was saved.")
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                return redirect("team-list", tenant_slug=self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form, team=team))


# Periods ---------------------------------------------------------------------------


class PeriodListView(TenantViewMixin, ListView):
    template_name = "spm/period_list.html"
    model = FiscalPeriod
    context_object_name = "periods"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        year = self.fiscal_year()
        return qs.filter(fiscal_year=year).order_by("start", "-end")

    def fiscal_year(self) -> int:
        try:
            return int(self.request.GET.get("year", ""))
        except ValueError:
            return fiscal_year_of(timezone.localdate(), self.tenant.fiscal_year_start_month)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        years = sorted(
            set(
                FiscalPeriod.objects.filter(tenant=self.tenant, kind="year").values_list(
                    "fiscal_year", flat=True
                )
            )
        )
        context["years"] = years
        context["year"] = self.fiscal_year()
        context["can_close"] = self.reach.allowed(PeriodCloseView.allowed_roles)
        return context


class PeriodCloseView(TenantViewMixin, View):
    model = FiscalPeriod
    allowed_roles = ADMIN

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        period = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        try:
            services.period_close(self.tenant, period=period, actor=request_user(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{period.label} is closed.")
        return HttpResponseRedirect(
            reverse("period-list", kwargs={"tenant_slug": self.tenant.slug})
            + f"?year={period.fiscal_year}"
        )


# Task runs -------------------------------------------------------------------------


class TaskRunView(TenantViewMixin, DetailView):
    """A long job's progress. With htmx, the partial polls itself until done."""

    model = TaskRun
    context_object_name = "run"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.task_runs())

    def get_template_names(self) -> list[str]:
        if self.htmx:
            return ["spm/partials/task_run.html"]
        return ["spm/task_run.html"]
