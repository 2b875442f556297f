"""Deal pages: the list (with CSV export), create, detail and its activities."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.views.generic import ListView, TemplateView, View

from pipeline import selectors, services
from pipeline.forms import (
    ActivityForm,
    DealForm,
    SplitFormSet,
)
from pipeline.models import (
    ChangeSource,
    Deal,
    DealStatus,
    Lead,
    Stage,
)
from pipeline.views.common import DealFilters
from spm.api.csv import page_export
from spm.forms import form_errors_add, version_is_current
from spm.permissions import SELLERS
from spm.tenancy.views import TenantViewMixin

SORTS = {
    "name": "name",
    "amount": "base_amount",
    "close": "expected_close_date",
    "stage": "stage__position",
    "owner": "owner__user__first_name",
    "updated": "updated_at",
    "probability": "probability",
}


class DealListView(TenantViewMixin, ListView):
    template_name = "pipeline/deal_list.html"
    model = Deal
    context_object_name = "deals"
    paginate_by = 50

    def sort(self) -> tuple[str, str]:
        key = self.request.GET.get("sort", "close")
        descending = key.startswith("-")
        key = key.lstrip("-")
        if key not in SORTS:
            key, descending = "close", False
        return key, ("-" if descending else "") + SORTS[key]

    @cached_property
    def filters(self) -> DealFilters:
        # The list opens on the open deals (soonest expected close first).
        return DealFilters(
            self.tenant, self.reach, self.request.GET, default_status=DealStatus.OPEN
        )

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = self.filters.apply(qs.filter(self.reach.deals()), default_period=False)
        return qs.select_related("owner__user", "account", "stage").order_by(self.sort()[1], "id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.filters.context(default_period=False))

        params = self.request.GET.copy()
        params.pop("page", None)
        params.pop("sort", None)
        context["filter_query"] = params.urlencode()
        export = self.request.GET.copy()
        export.pop("page", None)
        context["export_query"] = export.urlencode()
        context["sort"] = self.request.GET.get("sort", "close")
        context["can_create"] = self.reach.allowed(DealCreateView.allowed_roles)
        context["stages"] = (
            Stage.objects.filter(tenant=self.tenant)
            .select_related("pipeline")
            .order_by("pipeline__position", "position")
        )
        return context


CSV_COLUMNS = [
    ("external_id", "External id"),
    ("name", "Name"),
    ("account__name", "Account"),
    ("owner__user__email", "Owner"),
    ("amount", "Amount"),
    ("currency", "Currency"),
    ("base_amount", "Amount (tenant currency)"),
    ("pipeline__name", "Pipeline"),
    ("stage__name", "Stage"),
    ("probability", "Probability (%)"),
    ("forecast_category", "Forecast category"),
    ("expected_close_date", "Close date"),
    ("status", "Status"),
    ("close_date", "Actual close date"),
    ("lost_reason", "Lost reason"),
    ("deal_type", "Type"),
    ("product_line", "Product line"),
    ("source", "Source"),
    ("created_on", "Created on"),
]


class DealExportView(DealListView):
    """The deal list's rows, every page, as CSV (re-importable: the headers are
    recognised by the import) or XLSX (``?as=xlsx``)."""

    # A download may stream (a StreamingHttpResponse, not an HttpResponse).
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        return page_export(
            request,
            self.tenant,
            self.get_queryset(),
            CSV_COLUMNS,
            filename=f"deals-{self.tenant.slug}",
        )


class DealCreateView(TenantViewMixin, TemplateView):
    template_name = "pipeline/deal_form.html"
    allowed_roles = SELLERS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", DealForm(tenant=self.tenant, reach=self.reach))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = DealForm(request.POST, tenant=self.tenant, reach=self.reach)
        if form.is_valid():
            try:
                deal = services.deal_create(
                    self.tenant,
                    actor=self.membership,
                    via=ChangeSource.PAGE,
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, f"{deal.name} was created.")
                return redirect("pipeline:deal-detail", tenant_slug=self.tenant.slug, pk=deal.pk)
        return self.render_to_response(self.get_context_data(form=form))


class DealPageMixin(TenantViewMixin):
    """A deal page: the deals in the member's reach; a change is refused (403)
    on a deal they may read but not change (finance, split credit only)."""

    model = Deal

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.deals()).select_related(
            "owner__user", "account", "stage", "pipeline"
        )

    def deal_to_change(self, pk: int) -> Deal:
        deal = get_object_or_404(self.get_queryset(), pk=pk)
        if not self.reach.may_write_deal(deal):
            raise PermissionDenied("You may read this deal but not change it.")
        return deal


class DealDetailView(DealPageMixin, TemplateView):
    """The deal, its stage timeline, splits and activities; a member who may
    change it edits it here, the others (finance, split credit) read it."""

    template_name = "pipeline/deal_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        deal = kwargs.get("deal") or get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        can_edit = self.reach.may_write_deal(deal)
        splits = list(deal.splits.filter(tenant=self.tenant).select_related("member__user"))
        context.update(
            {
                "deal": deal,
                "timeline": selectors.deal_timeline(self.tenant, deal=deal),
                "splits": splits,
                "activities": deal.activities.filter(tenant=self.tenant).select_related(
                    "member__user"
                )[:50],
                "leads": Lead.objects.filter(tenant=self.tenant, converted_deal=deal),
                "can_edit": can_edit,
            }
        )
        if can_edit:
            context.setdefault(
                "form", DealForm(instance=deal, tenant=self.tenant, reach=self.reach)
            )
            initial = (
                [{"member": s.member_id, "percent": s.percent} for s in splits]
                if deal.custom_splits
                else []
            )
            formset = SplitFormSet(initial=initial, tenant=self.tenant, prefix="splits")
            formset.extra = max(0, 4 - len(initial))
            context.setdefault("split_formset", formset)
            context.setdefault(
                "activity_form",
                ActivityForm(initial={"occurred_on": services.tenant_today(self.tenant)}),
            )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        deal = self.deal_to_change(kwargs["pk"])
        form = DealForm(
            request.POST,
            instance=Deal.objects.get(pk=deal.pk),
            tenant=self.tenant,
            reach=self.reach,
        )
        formset = SplitFormSet(request.POST, tenant=self.tenant, prefix="splits")
        if form.is_valid() and formset.is_valid() and version_is_current(form, deal):
            try:
                services.deal_update(
                    self.tenant,
                    deal=deal,
                    actor=self.membership,
                    via=ChangeSource.PAGE,
                    splits=formset.pairs(),
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "The deal was saved.")
                return redirect("pipeline:deal-detail", tenant_slug=self.tenant.slug, pk=deal.pk)
        return self.render_to_response(
            self.get_context_data(deal=deal, form=form, split_formset=formset)
        )


class DealActivityView(DealPageMixin, View):
    """POST: log an activity on the deal (by the current member)."""

    allowed_roles = SELLERS

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        deal = self.deal_to_change(kwargs["pk"])
        form = ActivityForm(request.POST)
        if form.is_valid():
            try:
                services.activity_create(
                    self.tenant, actor=self.membership, deal=deal, **form.cleaned_data
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, "The activity was logged.")
        else:
            messages.error(
                request,
                "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
            )
        return redirect("pipeline:deal-detail", tenant_slug=self.tenant.slug, pk=deal.pk)
