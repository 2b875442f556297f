"""Plan modelling page (admins): a draft version applied to a past period's
credits for every member on a plan, against the plans in force
(``incentives.modelling``), with the distribution and per-member change
charts and who gains or loses most."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.views.generic import DetailView

from incentives import charts
from incentives.modelling import plan_model
from incentives.models import PlanVersion
from spm.models import FiscalPeriod
from spm.permissions import ADMIN
from spm.tenancy.views import TenantViewMixin

# Periods offered in the picker: the last two years' months and quarters.
PICKER_PERIODS = 32


class PlanModelView(TenantViewMixin, DetailView):
    """``?period=<id>``: the comparison; without it, the period picker."""

    model = PlanVersion
    allowed_roles = ADMIN
    template_name = "incentives/plan_model.html"
    context_object_name = "version"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("plan")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        today = timezone.localdate()
        periods = list(
            FiscalPeriod.objects.filter(
                tenant=self.tenant, kind__in=("month", "quarter"), start__lte=today
            ).order_by("-end", "kind")[:PICKER_PERIODS]
        )
        raw = self.request.GET.get("period", "")
        period = next((p for p in periods if str(p.pk) == raw), None)
        if period is None and raw.isdigit():
            period = FiscalPeriod.objects.filter(tenant=self.tenant, pk=int(raw)).first()
        model = plan_model(self.tenant, version=self.object, period=period) if period else None
        context.update(
            periods=periods,
            period=period,
            model=model,
            active_tab="plans",
        )
        if model is not None:
            members = model.members
            context.update(
                gainers=model.gainers.to_dict("records"),
                losers=model.losers.to_dict("records"),
                charts=[
                    {
                        "id": "fig-model-histogram",
                        "figure": charts.model_histogram(
                            list(members["current"]), list(members["modelled"])
                        ),
                    },
                    {
                        "id": "fig-model-change",
                        "figure": charts.model_change(
                            list(members["name"]), list(members["change"])
                        ),
                    },
                ],
            )
        return context
