"""Assignments, calculation runs and adjustments: admins and finance read
them; admins assign plans; admins and finance start, compare and publish
runs and make manual adjustments."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import DetailView, ListView, TemplateView, View

from incentives import selectors, selectors_trust, services
from incentives.forms import AdjustmentForm, AssignForm, RunStartForm
from incentives.forms_trust import ApprovalRequestForm
from incentives.models import Adjustment, CalcRun
from incentives.views.approvals import approval_rows
from kpis.views.common import PeriodMixin
from spm.forms import form_errors_add
from spm.models import Membership
from spm.permissions import ADMIN, READ_ALL
from spm.tenancy.views import TenantViewMixin


def _url(view: TenantViewMixin, name: str, **kwargs: Any) -> str:
    return reverse(f"incentives:{name}", kwargs={"tenant_slug": view.tenant.slug, **kwargs})


# The assignment page's filter on acceptance (``?acceptance=``).
ACCEPTANCE_FILTERS = {"": "Everyone", "pending": "Not accepted", "accepted": "Accepted"}


class AssignmentListView(PeriodMixin, TemplateView):
    """Who is on which plan in the chosen period (whether they accepted it,
    ``?acceptance=pending|accepted``), and the reps and managers on none;
    admins assign a member or a whole team."""

    allowed_roles = READ_ALL
    template_name = "incentives/assignment_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        acceptance = self.request.GET.get("acceptance", "")
        if acceptance not in ACCEPTANCE_FILTERS:
            acceptance = ""
        context["acceptance"] = acceptance
        context["acceptance_filters"] = ACCEPTANCE_FILTERS.items()
        if self.period is not None:
            ids = selectors.members_without_plan(self.tenant, period=self.period)
            assignments = selectors_trust.with_acceptance(
                self.tenant,
                selectors.assignments_in(self.tenant, period=self.period),
                accepted=None if not acceptance else acceptance == "accepted",
            )
            context.update(
                assignments=list(assignments),
                without_plan=list(
                    Membership.objects.filter(tenant=self.tenant, pk__in=ids)
                    .select_related("user", "team")
                    .order_by("user__last_name", "user__first_name")
                ),
            )
        context.setdefault("form", AssignForm(tenant=self.tenant))
        context["active_tab"] = "assignments"
        return context


class AssignmentCreateView(AssignmentListView):
    """Admins only: one member, or every rep and manager of a team, all or none."""

    allowed_roles = ADMIN

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = AssignForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            data = form.cleaned_data
            common = {
                "version": data["version"],
                "start_date": data["start_date"],
                "end_date": data["end_date"],
                "target_incentive": data["target_incentive"],
                "actor": self.membership,
            }
            try:
                if data["team"] is not None:
                    made = services.assignment_create_for_team(
                        self.tenant, team=data["team"], **common
                    )
                else:
                    made = [
                        services.assignment_create(
                            self.tenant, membership=data["membership"], **common
                        )
                    ]
            except ValidationError as exc:
                form_errors_add(form, exc, prefix="")
            else:
                messages.success(
                    request,
                    f"{len(made)} member{'s' if len(made) != 1 else ''} put on "
                    f"{data['version']} from {data['start_date']:%Y-%m-%d}.",
                )
                return HttpResponseRedirect(_url(self, "assignment-list"))
        return self.render_to_response(self.get_context_data(form=form))


class RunListView(TenantViewMixin, ListView):
    """The calculation runs, newest first, and a form to start a preview."""

    model = CalcRun
    allowed_roles = READ_ALL
    template_name = "incentives/run_list.html"
    context_object_name = "runs"
    paginate_by = 25

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("period", "task_run", "created_by__user").order_by(
            "-created_at", "-id"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", RunStartForm(tenant=self.tenant))
        context["active_tab"] = "runs"
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = RunStartForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            try:
                run = services.calc_run_start(
                    self.tenant, period=form.cleaned_data["period"], actor=self.membership
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                return HttpResponseRedirect(_url(self, "run-detail", pk=run.pk))
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form))


class RunDetailView(TenantViewMixin, DetailView):
    """One run: its progress while it runs (htmx polls ``RunStatusView``),
    then its totals beside the last published run's, and publishing."""

    model = CalcRun
    allowed_roles = READ_ALL
    template_name = "incentives/run_detail.html"
    context_object_name = "run"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("period", "task_run", "published_by__user")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        task = self.object.task_run
        if task is None or task.is_finished:
            context["comparison"] = selectors.run_compare(self.tenant, run=self.object)
        approval = selectors_trust.approval_latest(self.tenant, run=self.object)
        context.update(
            approval=approval,
            refusal=approval_rows(self, [approval])[0][1] if approval else None,
            request_form=ApprovalRequestForm(),
            active_tab="runs",
        )
        return context


class RunStatusView(TenantViewMixin, DetailView):
    """The progress bar of a run; the poll that sees it finish reloads the page."""

    model = CalcRun
    allowed_roles = READ_ALL
    template_name = "incentives/partials/run_status.html"
    context_object_name = "run"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("period", "task_run")

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        task = self.object.task_run
        if task is not None and task.is_finished:
            response["HX-Refresh"] = "true"
        return response


class RunPublishView(TenantViewMixin, View):
    """Publish a preview; refused with the service's message (not approved by
    finance yet, inputs changed since the preview, not a preview, period
    closed)."""

    model = CalcRun
    allowed_roles = READ_ALL

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        run = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        try:
            services.calc_run_publish(self.tenant, run=run, actor=self.membership)
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        else:
            messages.success(request, f"Published: the statements of {run.period.label} are final.")
        return HttpResponseRedirect(_url(self, "run-detail", pk=run.pk))


class AdjustmentListView(TenantViewMixin, ListView):
    """Manual adjustments, newest first, and the form to make one (admins and
    finance; a reason is required, the period must be open)."""

    model = Adjustment
    allowed_roles = READ_ALL
    template_name = "incentives/adjustment_list.html"
    context_object_name = "adjustments"
    paginate_by = 50

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("membership__user", "period", "created_by__user").order_by(
            "-created_at", "-id"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", AdjustmentForm(tenant=self.tenant))
        context["active_tab"] = "adjustments"
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = AdjustmentForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            try:
                adjustment = services.adjustment_create(
                    self.tenant, actor=self.membership, **form.cleaned_data
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request,
                    f"Adjustment for {adjustment.membership.display_name} in "
                    f"{adjustment.period.label} recorded; the next run of the period pays it.",
                )
                return HttpResponseRedirect(_url(self, "adjustment-list"))
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form))
