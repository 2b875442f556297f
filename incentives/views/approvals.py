"""Approval pages: the queue (admins and finance), asking to publish a run or
to activate a plan version, deciding a request, and a member accepting the
plan they are assigned. Same services and selectors as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import ListView, View

from incentives import selectors_trust, services
from incentives.forms_trust import ApprovalDecideForm, ApprovalRequestForm
from incentives.models import Approval, ApprovalStatus, Assignment, CalcRun, PlanVersion
from incentives.services.approvals import approval_link, approval_subject
from spm.permissions import ADMIN, READ_ALL
from spm.tenancy.views import TenantViewMixin


def _errors(request: HttpRequest, exc: ValidationError | PermissionDenied) -> None:
    texts = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
    for text in texts:
        messages.error(request, text)


def approval_rows(
    view: TenantViewMixin, approvals: list[Approval]
) -> list[tuple[Approval, str | None]]:
    """Each request with why this member may not decide it (None: they may)."""
    deciders = services.approval_deciders(view.tenant)
    return [
        (
            a,
            services.approval_may_decide(
                approval=a, actor=view.membership, deciders=deciders[a.kind]
            ),
        )
        for a in approvals
    ]


class ApprovalListView(TenantViewMixin, ListView):
    """Pending requests first (oldest first, with who may decide them), then
    the decided ones, newest first."""

    model = Approval
    allowed_roles = READ_ALL
    template_name = "incentives/approval_list.html"
    context_object_name = "decided"
    paginate_by = 50

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return (
            qs.filter(self.reach.approvals())
            .exclude(status=ApprovalStatus.PENDING)
            .select_related(
                "run__period", "version__plan", "requested_by__user", "decided_by__user"
            )
            .order_by("-decided_at", "-id")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pending = list(
            selectors_trust.approvals_visible(self.tenant, reach=self.reach)
            .filter(status=ApprovalStatus.PENDING)
            .order_by("requested_at", "id")
        )
        context.update(
            pending=approval_rows(self, pending),
            decide_form=ApprovalDecideForm(),
            active_tab="approvals",
        )
        return context


class ApprovalDecideView(TenantViewMixin, View):
    """Approve or reject a request (``decision``; a rejection needs ``answer``);
    back to the page of its subject."""

    model = Approval
    allowed_roles = READ_ALL

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.approvals())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        approval = get_object_or_404(
            self.get_queryset().select_related("run__period", "version__plan"), pk=kwargs["pk"]
        )
        form = ApprovalDecideForm(request.POST)
        back = request.POST.get("next") or approval_link(self.tenant, approval)
        if not back.startswith(f"/{self.tenant.slug}/"):
            back = approval_link(self.tenant, approval)
        if not form.is_valid():
            for field, errors in form.errors.items():
                messages.error(request, f"{field}: {' '.join(str(e) for e in errors)}")
            return HttpResponseRedirect(back)
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.approval_decide(
                self.tenant,
                approval=approval,
                actor=self.membership,
                approve=approve,
                answer=form.cleaned_data["answer"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _errors(request, exc)
        else:
            word = "Approved" if approve else "Rejected"
            messages.success(request, f"{word}: {approval_subject(approval)}.")
        return HttpResponseRedirect(back)


class _ApprovalRequestView(TenantViewMixin, View):
    """Ask for an approval of one object (``subject``: the service's keyword
    for it), then back to its page (``detail``) saying so (``requested``,
    formatted with the object as ``obj``)."""

    subject: str
    related: str
    detail: str
    requested: str

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = get_object_or_404(self.get_queryset().select_related(self.related), pk=kwargs["pk"])
        form = ApprovalRequestForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        try:
            services.approval_request(
                self.tenant, actor=self.membership, note=note, **{self.subject: obj}
            )
        except (ValidationError, PermissionDenied) as exc:
            _errors(request, exc)
        else:
            messages.success(request, self.requested.format(obj=obj))
        return HttpResponseRedirect(reverse(self.detail, args=[self.tenant.slug, obj.pk]))


class RunApprovalRequestView(_ApprovalRequestView):
    """Ask finance to approve publishing a preview run."""

    model = CalcRun
    allowed_roles = READ_ALL
    subject, related, detail = "run", "period", "incentives:run-detail"
    requested = "Finance is asked to approve publishing {obj.period.label}."


class VersionActivationRequestView(_ApprovalRequestView):
    """An admin asks to activate a draft plan version (another admin approves
    where the tenant has one)."""

    model = PlanVersion
    allowed_roles = ADMIN
    subject, related, detail = "version", "plan", "incentives:version-detail"
    requested = "Activation of {obj} requested from an admin."


class PlanAcceptView(TenantViewMixin, View):
    """A member accepts the plan of one of their own assignments (anyone
    else's: 404); back to where they clicked (My plan or My statements)."""

    model = Assignment

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(membership=self.membership)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        assignment = get_object_or_404(
            self.get_queryset().select_related("version__plan"), pk=kwargs["pk"]
        )
        services.plan_accept(self.tenant, assignment=assignment, actor=self.membership)
        messages.success(request, f"You accepted {assignment.version}.")
        back = request.POST.get("next", "")
        if not back.startswith(f"/{self.tenant.slug}/incentives/"):
            back = reverse("incentives:my-plan", args=[self.tenant.slug])
        return HttpResponseRedirect(back)
