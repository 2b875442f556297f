"""The exchange-rate table pages (admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView

from pipeline import services
from pipeline.forms import (
    ExchangeRateForm,
)
from pipeline.models import (
    ExchangeRate,
)
from spm.forms import form_errors_add
from spm.permissions import ADMIN
from spm.tenancy.views import TenantViewMixin


class ExchangeRateListView(TenantViewMixin, TemplateView):
    """Admins keep the tenant's rate table: the list and the add form."""

    template_name = "pipeline/exchange_rates.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["rates"] = ExchangeRate.objects.filter(tenant=self.tenant).select_related("period")
        context.setdefault("form", ExchangeRateForm(tenant=self.tenant))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ExchangeRateForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            try:
                row = services.exchange_rate_create(
                    self.tenant, actor=self.membership, **form.cleaned_data
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, f"The {row.currency} rate for {row.period} was added.")
                return redirect("pipeline:exchange-rates", tenant_slug=self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ExchangeRateEditView(TenantViewMixin, TemplateView):
    """Edit or delete one rate (POST ``action=delete`` deletes)."""

    template_name = "pipeline/exchange_rate_form.html"
    model = ExchangeRate
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        row = kwargs.get("row") or get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        context["row"] = row
        context.setdefault("form", ExchangeRateForm(instance=row, tenant=self.tenant))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        row = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        if request.POST.get("action") == "delete":
            services.exchange_rate_delete(self.tenant, exchange_rate=row, actor=self.membership)
            messages.success(request, f"The {row.currency} rate for {row.period} was deleted.")
            return redirect("pipeline:exchange-rates", tenant_slug=self.tenant.slug)
        form = ExchangeRateForm(
            request.POST, instance=ExchangeRate.objects.get(pk=row.pk), tenant=self.tenant
        )
        if form.is_valid():
            try:
                services.exchange_rate_update(
                    self.tenant, exchange_rate=row, actor=self.membership, **form.cleaned_data
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "The rate was saved.")
                return redirect("pipeline:exchange-rates", tenant_slug=self.tenant.slug)
        return self.render_to_response(
            self.get_context_data(row=row, form=form, pk=row.pk), status=400
        )
