"""Pages of statements reps trust: answering a statement (acknowledge,
dispute), the dispute queue and a dispute's steps, notifications and the
member's email choices. Same services and selectors as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.generic import DetailView, ListView, TemplateView, View

from incentives import selectors, selectors_trust, services
from incentives.api_trust import payroll_file_response
from incentives.diffs import statement_changes
from incentives.estimates import commission_estimate, open_deals_of
from incentives.forms_trust import (
    CommentForm,
    DisputeForm,
    EstimateForm,
    PayrollForm,
    PreferencesForm,
    RejectForm,
    ResolveForm,
)
from incentives.models import AckState, CalcRun, Dispute, Notification, PayrollExport, Statement
from incentives.services.acknowledgements import acknowledgement_for
from spm.forms import form_errors_add
from spm.models import FiscalPeriod
from spm.permissions import READ_ALL
from spm.tenancy.views import TenantViewMixin


def statement_trust_context(view: Any, statement: Statement) -> dict[str, Any]:
    """What the statement page shows about its answer and disputes."""
    ack = acknowledgement_for(view.tenant, statement=statement)
    own = statement.membership_id == view.membership.pk
    window_open = ack is not None and timezone.now() <= ack.window_closes_at
    disputes = (
        selectors_trust.disputes_visible(view.tenant, reach=view.reach)
        .filter(statement=statement)
        .select_related("line")
        .order_by("created_at")
    )
    return {
        "changes": statement_changes(view.tenant, statement=statement),
        "ack": ack,
        "may_answer": own and window_open,
        "may_acknowledge": own
        and window_open
        and ack is not None
        and ack.state == AckState.PENDING,
        "statement_disputes": list(disputes),
        "dispute_form": DisputeForm(
            lines=statement.lines.filter(tenant=view.tenant).order_by("position")
        ),
    }


class OwnStatementMixin(TenantViewMixin):
    """A POST on the member's own published statement; anyone else's is 404."""

    model = Statement

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.statements_visible(self.tenant, reach=self.reach).filter(
            membership=self.membership
        )

    def statement(self) -> Statement:
        return get_object_or_404(
            self.get_queryset().select_related("period", "membership"), pk=self.kwargs["pk"]
        )

    def back(self, statement: Statement) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("incentives:statement-detail", args=[self.tenant.slug, statement.pk])
        )

    def closed(self, statement: Statement, exc: services.WindowClosed) -> HttpResponse:
        """409: the window closed, on the day the page names."""
        return render(
            self.request,
            "incentives/window_closed.html",
            {"statement": statement, "closed_on": exc.closed_on, "tenant": self.tenant},
            status=409,
        )


class StatementAcknowledgeView(OwnStatementMixin, View):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        statement = self.statement()
        try:
            services.statement_acknowledge(self.tenant, statement=statement, actor=self.membership)
        except services.WindowClosed as exc:
            return self.closed(statement, exc)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Statement for {statement.period.label} acknowledged.")
        return self.back(statement)


class StatementDisputeView(OwnStatementMixin, View):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        statement = self.statement()
        form = DisputeForm(
            request.POST,
            request.FILES,
            lines=statement.lines.filter(tenant=self.tenant),
        )
        if not form.is_valid():
            for field, errors in form.errors.items():
                messages.error(request, f"{field}: {' '.join(str(e) for e in errors)}")
            return self.back(statement)
        upload = form.cleaned_data["attachment"]
        attachment = (upload.name, upload.content_type, upload.read()) if upload else None
        try:
            dispute = services.dispute_open(
                self.tenant,
                statement=statement,
                actor=self.membership,
                reason=form.cleaned_data["reason"],
                line=form.cleaned_data["line"],
                attachment=attachment,
            )
        except services.WindowClosed as exc:
            return self.closed(statement, exc)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return self.back(statement)
        messages.success(request, "Dispute sent: your manager and finance are told.")
        return HttpResponseRedirect(
            reverse("incentives:dispute-detail", args=[self.tenant.slug, dispute.pk])
        )


class DisputeListView(TenantViewMixin, ListView):
    """The dispute queue: open disputes in reach with their age (a rep sees
    their own), and those closed recently."""

    model = Dispute
    template_name = "incentives/dispute_list.html"
    context_object_name = "disputes"
    paginate_by = 50

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return (
            selectors_trust.disputes_visible(self.tenant, reach=self.reach)
            .select_related("membership__user", "statement__period", "line")
            .order_by("-status", "created_at", "id")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        for dispute in context["disputes"]:
            dispute.age_days = (now - dispute.created_at).days
        return context


class DisputeDetailView(TenantViewMixin, DetailView):
    """One dispute with every step (who, when), the comment form, and for
    finance the resolve and reject forms."""

    model = Dispute
    template_name = "incentives/dispute_detail.html"
    context_object_name = "dispute"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors_trust.disputes_visible(self.tenant, reach=self.reach).select_related(
            "membership__user", "statement__period", "line", "adjustment__period"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["steps"] = self.object.steps.filter(tenant=self.tenant).select_related(
            "actor__user"
        )
        context.setdefault("comment_form", CommentForm())
        context.setdefault("resolve_form", ResolveForm())
        context.setdefault("reject_form", RejectForm())
        context["settles"] = self.reach.settles_pay
        context["age_days"] = (timezone.now() - self.object.created_at).days
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = dispute = self.get_object()
        step = request.POST.get("step")
        forms = {"comment": CommentForm, "resolve": ResolveForm, "reject": RejectForm}
        if step not in forms:
            raise Http404("Unknown step.")
        if step != "comment" and not self.reach.settles_pay:
            raise Http404("Finance resolves and rejects disputes.")
        form = forms[step](request.POST)
        if form.is_valid():
            try:
                self._apply(step, dispute, form.cleaned_data)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                return HttpResponseRedirect(request.path)
        context = self.get_context_data(**{f"{step}_form": form})
        return self.render_to_response(context, status=400)

    def _apply(self, step: str, dispute: Dispute, data: dict[str, Any]) -> None:
        if step == "comment":
            services.dispute_comment(
                self.tenant, dispute=dispute, actor=self.membership, text=data["text"]
            )
            messages.success(self.request, "Comment added.")
        elif step == "resolve":
            services.dispute_resolve(self.tenant, dispute=dispute, actor=self.membership, **data)
            messages.success(self.request, "Resolved: the adjustment is posted by the next run.")
        else:
            services.dispute_reject(self.tenant, dispute=dispute, actor=self.membership, **data)
            messages.success(self.request, "Rejected; the member is told.")


class DisputeAttachmentView(TenantViewMixin, DetailView):
    model = Dispute

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors_trust.disputes_visible(self.tenant, reach=self.reach).exclude(
            attachment_name=""
        )

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        dispute = self.object
        response = HttpResponse(bytes(dispute.attachment), content_type=dispute.attachment_type)
        response["Content-Disposition"] = f'attachment; filename="{dispute.attachment_name}"'
        return response


class NotificationListView(TenantViewMixin, ListView):
    """The member's notifications, newest first, and their email choices."""

    model = Notification
    template_name = "incentives/notifications.html"
    context_object_name = "notifications"
    paginate_by = 50

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(recipient=self.membership)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        chosen = services.notification_preferences(self.tenant, membership=self.membership)
        context.setdefault(
            "preferences_form",
            PreferencesForm(initial={"email_kinds": [k for k, on in chosen.items() if on]}),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "read_all" in request.POST:
            services.notifications_read(self.tenant, membership=self.membership)
            return HttpResponseRedirect(request.path)
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.notification_preferences_set(
                self.tenant,
                membership=self.membership,
                email_kinds=form.cleaned_data["email_kinds"],
            )
            messages.success(request, "Email choices saved.")
            return HttpResponseRedirect(request.path)
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(preferences_form=form), status=400)


class EstimatorView(TenantViewMixin, TemplateView):
    """The rep's estimator: pick open deals or type an amount, see this
    period's commission under their plan, the band and the accelerator."""

    template_name = "incentives/estimator.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        today = timezone.localdate()
        periods = FiscalPeriod.objects.filter(
            tenant=self.tenant, kind__in=["month", "quarter"], is_closed=False
        ).order_by("start", "kind")
        current = periods.filter(kind="month", start__lte=today, end__gte=today).first()
        data = request.GET if "period" in request.GET else None
        form = EstimateForm(
            data,
            initial={"period": current},
            periods=periods,
            deals=open_deals_of(self.tenant, membership=self.membership),
        )
        found, status, no_plan = None, 200, False
        if data is not None and form.is_valid():
            try:
                found = commission_estimate(
                    self.tenant,
                    membership=self.membership,
                    period=form.cleaned_data["period"],
                    deal_ids=[d.pk for d in form.cleaned_data["deals"]],
                    amount=form.cleaned_data["amount"],
                )
                no_plan = found is None
            except ValidationError as exc:
                form_errors_add(form, exc)
        if data is not None and form.errors:
            status = 400
        return self.render_to_response(
            self.get_context_data(form=form, estimate=found, no_plan=no_plan), status=status
        )


class PayrollView(TenantViewMixin, ListView):
    """Payroll exports: finance exports a pay period (CSV or XLSX); admins
    and finance read the history."""

    model = PayrollExport
    template_name = "incentives/payroll.html"
    context_object_name = "exports"
    allowed_roles = READ_ALL
    paginate_by = 50

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("period", "created_by__user").order_by("-created_at", "-id")

    def periods(self) -> QuerySet:
        published = CalcRun.objects.filter(
            tenant=self.tenant, status=CalcRun.Status.PUBLISHED
        ).values("period_id")
        return FiscalPeriod.objects.filter(tenant=self.tenant, pk__in=published).order_by(
            "-start", "kind"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", PayrollForm(periods=self.periods()))
        context["exports_pay"] = self.reach.settles_pay
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.reach.settles_pay:
            raise Http404("Finance exports payroll.")
        form = PayrollForm(request.POST, periods=self.periods())
        if form.is_valid():
            try:
                export = services.payroll_export_create(
                    self.tenant, period=form.cleaned_data["period"], actor=self.membership
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request,
                    f"Export #{export.sequence} of {export.period.label}: "
                    f"{export.line_count} lines marked paid.",
                )
                return HttpResponseRedirect(request.path)
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PayrollDownloadView(TenantViewMixin, DetailView):
    model = PayrollExport
    allowed_roles = READ_ALL

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        fmt = "xlsx" if self.request.GET.get("as") == "xlsx" else "csv"
        return payroll_file_response(self.tenant, self.object, fmt)
