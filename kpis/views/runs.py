"""Recompute runs with their progress; admins start a full recompute."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView

from kpis import selectors, services
from spm.permissions import ADMIN, READ_ALL
from spm.tenancy.views import TenantViewMixin


class RunsView(TenantViewMixin, TemplateView):
    """KPI recompute runs with their progress; admins start a full recompute."""

    allowed_roles = ADMIN | READ_ALL
    template_name = "kpis/runs.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        runs = selectors.kpi_runs(self.tenant)
        for run in runs:
            done = run.finished_at and run.started_at
            run.seconds = (  # type: ignore[attr-defined]
                (run.finished_at - run.started_at).total_seconds() if done else None  # type: ignore[operator]
            )
        context["runs"] = runs
        context["changed_after_close"] = selectors.kpi_changes_after_close(self.tenant)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.reach.is_admin:
            return HttpResponse("Only admins start a recompute.", status=403)
        services.kpi_recompute_request(self.tenant, actor=self.membership)
        messages.success(request, "The recompute has started; its progress shows below.")
        return HttpResponseRedirect(reverse("kpis:runs", args=[self.tenant.slug]))
