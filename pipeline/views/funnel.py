"""The funnel page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.views.generic import TemplateView

from pipeline import charts, selectors, services
from pipeline.models import (
    Lead,
)
from pipeline.views.common import parse_id
from spm.models import FiscalPeriod, Team
from spm.selectors import period_containing
from spm.tenancy.views import TenantViewMixin


class FunnelView(TenantViewMixin, TemplateView):
    """Leads per AIDA stage for the cohort that entered in a period, with the
    conversion between stages, as a plotly funnel and a table."""

    template_name = "pipeline/funnel.html"
    model = Lead

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.own("owner", unowned=True))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # By kind, each in date order (the select groups them).
        periods = list(FiscalPeriod.objects.filter(tenant=self.tenant).order_by("kind", "start"))
        today = services.tenant_today(self.tenant)
        selected = None
        try:
            selected = next(
                (p for p in periods if p.pk == int(self.request.GET.get("period", ""))), None
            )
        except ValueError:
            selected = None
        selected = selected or period_containing(self.tenant, day=today, kind="quarter")
        leads = self.get_queryset()
        team_id = self.request.GET.get("team", "")
        if parse_id(team_id):
            team = Team.objects.filter(tenant=self.tenant, pk=parse_id(team_id)).first()
            leads = leads.filter(owner__team__path__startswith=team.path) if team else leads.none()
        start = selected.start if selected else today - dt.timedelta(days=90)
        end = selected.end if selected else today
        steps = selectors.lead_funnel(self.tenant, leads=leads, start=start, end=end)
        context.update(
            {
                "periods": periods,
                "selected_period": selected,
                "teams": Team.objects.filter(tenant=self.tenant).order_by("path"),
                "team_id": team_id,
                "steps": steps,
                "start": start,
                "end": end,
                "figure": charts.funnel_figure(steps),
            }
        )
        return context
