"""Lead pages: the list (with CSV export) and detail."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.views.generic import ListView, TemplateView

from pipeline import services
from pipeline.models import (
    AIDA_ORDER,
    AidaStage,
    Deal,
    DealStatus,
    Lead,
)
from spm.api.csv import page_export
from spm.models import FiscalPeriod, Membership
from spm.tenancy.views import TenantViewMixin

LEAD_CSV_COLUMNS = [
    ("external_id", "Lead ID"),
    ("name", "Full name"),
    ("company", "Company"),
    ("email", "Email"),
    ("stage", "AIDA stage"),
    ("awareness_on", "Awareness on"),
    ("interest_on", "Interest on"),
    ("decision_on", "Decision on"),
    ("action_on", "Action on"),
    ("source", "Lead source"),
    ("campaign", "Campaign"),
    ("owner__user__email", "Lead owner"),
    ("converted_deal__external_id", "Converted Opportunity ID"),
]


class LeadListView(TenantViewMixin, ListView):
    """Leads in the member's reach; filters: AIDA stage, owner, source, and the
    period in which the lead entered the funnel (awareness date)."""

    template_name = "pipeline/lead_list.html"
    model = Lead
    context_object_name = "leads"
    paginate_by = 50

    @cached_property
    def periods(self) -> list[FiscalPeriod]:
        return list(
            FiscalPeriod.objects.filter(
                tenant=self.tenant, kind__in=["month", "quarter", "year"]
            ).order_by("start", "kind")
        )

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = qs.filter(self.reach.own("owner", unowned=True))
        params = self.request.GET
        stage = params.get("stage", "")
        if stage in AidaStage.values:
            qs = qs.filter(stage=stage)
        owner = params.get("owner", "")
        if owner.isdigit():
            qs = qs.filter(owner_id=int(owner))
        source = params.get("source", "").strip()
        if source:
            qs = qs.filter(source=source)
        period = params.get("period", "")
        chosen = next((p for p in self.periods if str(p.pk) == period), None)
        if chosen is not None:
            qs = qs.filter(awareness_on__range=(chosen.start, chosen.end))
        return qs.select_related("owner__user", "converted_deal").order_by("-awareness_on", "id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        visible = Lead.objects.filter(self.reach.own("owner", unowned=True), tenant=self.tenant)
        context["stages"] = AidaStage.choices
        context["owners"] = Membership.objects.filter(
            self.reach.members(), tenant=self.tenant
        ).select_related("user")
        context["sources"] = list(
            visible.exclude(source="")
            .values_list("source", flat=True)
            .distinct()
            .order_by("source")
        )
        context["periods"] = self.periods
        context["params"] = self.request.GET
        export = self.request.GET.copy()
        export.pop("page", None)
        context["export_query"] = export.urlencode()
        return context


class LeadExportView(LeadListView):
    """Every matching lead as CSV (headers the import recognises) or XLSX
    (``?as=xlsx``)."""

    # A download may stream (a StreamingHttpResponse, not an HttpResponse).
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        return page_export(
            request,
            self.tenant,
            self.get_queryset(),
            LEAD_CSV_COLUMNS,
            filename=f"leads-{self.tenant.slug}",
        )


class LeadDetailView(TenantViewMixin, TemplateView):
    """A lead's funnel dates and activities; sellers advance its AIDA stage
    (``action=advance``) or convert it into one of their deals (``action=convert``)."""

    template_name = "pipeline/lead_detail.html"
    model = Lead

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.own("owner", unowned=True)).select_related(
            "owner__user", "account", "converted_deal"
        )

    def convertible_deals(self, lead: Lead) -> QuerySet[Deal]:
        deals = Deal.objects.filter(
            self.reach.deals(write=True), tenant=self.tenant, status=DealStatus.OPEN
        )
        if lead.account_id is not None:
            return deals.filter(account_id=lead.account_id).order_by("name", "id")
        return deals.filter(owner_id=lead.owner_id).order_by("name", "id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        lead = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        index = AIDA_ORDER.index(AidaStage(lead.stage))
        context["lead"] = lead
        context["steps"] = [
            (stage.label, getattr(lead, f"{stage.value}_on")) for stage in AIDA_ORDER
        ]
        context["next_stage"] = AIDA_ORDER[index + 1] if index + 1 < len(AIDA_ORDER) else None
        context["can_edit"] = self.reach.sells
        context["deals"] = (
            list(self.convertible_deals(lead).select_related("stage"))
            if context["can_edit"] and lead.converted_deal_id is None
            else []
        )
        context["activities"] = lead.activities.select_related("member__user").order_by(
            "-occurred_on", "-id"
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        lead = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        if not self.reach.sells:
            return HttpResponse("Finance has read-only access to leads.", status=403)
        action = request.POST.get("action")
        try:
            if action == "advance":
                index = AIDA_ORDER.index(AidaStage(lead.stage))
                if index + 1 >= len(AIDA_ORDER):
                    raise ValidationError({"stage": "The lead has reached the last stage."})
                stage = AIDA_ORDER[index + 1]
                services.lead_update(
                    self.tenant, lead=lead, actor=self.membership, stage=stage.value
                )
                messages.success(request, f"The lead moved to {stage.label}.")
            elif action == "convert":
                deal_id = request.POST.get("deal", "")
                deal = (
                    self.convertible_deals(lead).filter(pk=int(deal_id)).first()
                    if deal_id.isdigit()
                    else None
                )
                if deal is None:
                    raise ValidationError({"deal": "Choose one of the listed deals."})
                services.lead_convert(self.tenant, lead=lead, deal=deal, actor=self.membership)
                messages.success(request, f"The lead was converted into {deal.name}.")
            else:
                return HttpResponse("Unknown action.", status=400)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("pipeline:lead-detail", tenant_slug=self.tenant.slug, pk=lead.pk)
