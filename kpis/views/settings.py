"""KPI settings (shown, direction, target, thresholds per scope) and custom KPIs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.generic import TemplateView, View

from kpis import selectors, services
from kpis.definitions import RATIO, kpi_def
from kpis.forms import CustomKpiForm, KpiSettingForm, KpiSettingValuesForm
from kpis.models import CustomKpi, KpiSetting
from spm.forms import form_errors_add
from spm.permissions import ADMIN
from spm.tenancy.views import TenantViewMixin

HUNDRED = Decimal(100)


class SettingsView(TenantViewMixin, TemplateView):
    """Which KPIs are shown, their direction, target and RAG thresholds (per
    role or team), and the tenant's custom formula KPIs. Admins only."""

    allowed_roles = ADMIN
    template_name = "kpis/settings.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        custom = list(CustomKpi.objects.filter(tenant=self.tenant))
        labels = {c.value_key: (c.name, c.unit) for c in custom}
        context.setdefault("setting_form", KpiSettingForm(tenant=self.tenant, custom=custom))
        context.setdefault("custom_form", CustomKpiForm())
        context["settings"] = [
            _setting_row(s, labels)
            for s in KpiSetting.objects.filter(tenant=self.tenant).select_related("team")
        ]
        context["custom"] = custom
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        custom = list(CustomKpi.objects.filter(tenant=self.tenant))
        if request.POST.get("form") == "custom":
            form = CustomKpiForm(request.POST)
            if form.is_valid():
                try:
                    services.custom_kpi_save(
                        self.tenant, actor=self.membership, **form.cleaned_data
                    )
                except ValidationError as exc:
                    form_errors_add(form, exc)
                else:
                    messages.success(
                        request,
                        f"Custom KPI '{form.cleaned_data['name']}' saved; "
                        "its values are being computed.",
                    )
                    return HttpResponseRedirect(request.path)
            return self.render_to_response(self.get_context_data(custom_form=form), status=400)
        setting_form = KpiSettingForm(request.POST, tenant=self.tenant, custom=custom)
        if setting_form.is_valid():
            data = dict(setting_form.cleaned_data)
            kpi = data.pop("kpi")
            unit = kpi_def(kpi, custom_labels={c.value_key: (c.name, c.unit) for c in custom}).unit
            data = _stored_values(data, unit)
            try:
                services.kpi_setting_save(self.tenant, actor=self.membership, kpi=kpi, **data)
            except ValidationError as exc:
                form_errors_add(setting_form, exc)
            else:
                messages.success(request, "KPI setting saved.")
                return HttpResponseRedirect(request.path)
        return self.render_to_response(self.get_context_data(setting_form=setting_form), status=400)


THRESHOLDS = ("target", "green_from", "amber_from")


def _stored_values(data: dict[str, Any], unit: str) -> dict[str, Any]:
    """Form values as stored: percent KPIs are entered in % and kept as fractions."""
    data = dict(data)
    for name in THRESHOLDS:
        if data.get(name) is not None and unit == RATIO:
            data[name] = data[name] / HUNDRED
    data["position"] = data.get("position") or 0
    return data


def _shown_values(setting: KpiSetting, unit: str) -> dict[str, Decimal | None]:
    """A setting's thresholds the way the page shows and edits them (% for percent KPIs)."""
    out: dict[str, Decimal | None] = {}
    for name in THRESHOLDS:
        value = getattr(setting, name)
        if value is not None and unit == RATIO:
            value = value * HUNDRED
        if value is not None:
            # 100, not 1E+2 or 100.0000000000
            value = (
                value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()
            )
        out[name] = value
    return out


def _setting_row(setting: KpiSetting, labels: dict[str, tuple[str, str]]) -> dict[str, Any]:
    definition = kpi_def(setting.kpi, custom_labels=labels)
    shown = _shown_values(setting, definition.unit)
    suffix = "%" if definition.unit == RATIO else ""
    return {
        "setting": setting,
        "kpi": definition,
        **{
            name: f"{value:f}{suffix}" if value is not None else "—"
            for name, value in shown.items()
        },
    }


class SettingEditView(TenantViewMixin, View):
    """Change what an existing setting says (shown, direction, target,
    thresholds, position); its KPI and scope stay. With htmx the row of the
    settings table turns into the form and back; without it, a page."""

    allowed_roles = ADMIN
    model = KpiSetting

    def _render(
        self, request: HttpRequest, setting: KpiSetting, form: KpiSettingValuesForm, status: int
    ) -> HttpResponse:
        labels = selectors.custom_labels(self.tenant)
        context = {"row": _setting_row(setting, labels), "form": form, "tenant": self.tenant}
        if self.htmx:
            # htmx swaps only 2xx answers: the row with its errors comes back as 200.
            return render(request, "kpis/_setting_edit_row.html", context)
        return render(request, "kpis/setting_edit.html", context, status=status)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        setting = get_object_or_404(self.get_queryset().select_related("team"), pk=kwargs["pk"])
        unit = kpi_def(setting.kpi, custom_labels=selectors.custom_labels(self.tenant)).unit
        initial = {
            "is_shown": setting.is_shown,
            "direction": setting.direction,
            "position": setting.position,
            **_shown_values(setting, unit),
        }
        if request.GET.get("cancel") and self.htmx:
            context = {"row": _setting_row(setting, selectors.custom_labels(self.tenant))}
            return render(request, "kpis/_setting_row.html", {**context, "tenant": self.tenant})
        return self._render(request, setting, KpiSettingValuesForm(initial=initial), 200)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        setting = get_object_or_404(self.get_queryset().select_related("team"), pk=kwargs["pk"])
        labels = selectors.custom_labels(self.tenant)
        form = KpiSettingValuesForm(request.POST)
        if form.is_valid():
            unit = kpi_def(setting.kpi, custom_labels=labels).unit
            try:
                setting = services.kpi_setting_save(
                    self.tenant,
                    actor=self.membership,
                    kpi=setting.kpi,
                    role=setting.role,
                    team=setting.team,
                    **_stored_values(form.cleaned_data, unit),
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                if self.htmx:
                    return render(
                        request,
                        "kpis/_setting_row.html",
                        {
                            "row": _setting_row(setting, labels),
                            "tenant": self.tenant,
                            "saved": True,
                        },
                    )
                messages.success(request, "KPI setting saved.")
                return HttpResponseRedirect(reverse("kpis:settings", args=[self.tenant.slug]))
        return self._render(request, setting, form, 400)


class SettingDeleteView(TenantViewMixin, View):
    allowed_roles = ADMIN
    model = KpiSetting

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        setting = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        services.kpi_setting_delete(self.tenant, actor=self.membership, setting=setting)
        messages.success(request, "KPI setting removed.")
        return HttpResponseRedirect(reverse("kpis:settings", args=[self.tenant.slug]))


class CustomKpiDeleteView(TenantViewMixin, View):
    allowed_roles = ADMIN
    model = CustomKpi

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        kpi = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        services.custom_kpi_delete(self.tenant, actor=self.membership, kpi=kpi)
        messages.success(request, f"Custom KPI '{kpi.name}' removed.")
        return HttpResponseRedirect(reverse("kpis:settings", args=[self.tenant.slug]))
