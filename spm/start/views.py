"""The tenant home: each role's start page."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from incentives.charts import commission_by_period
from pipeline.services import tenant_today
from spm.start.selectors import start_page
from spm.tenancy.views import TenantViewMixin
from spm.views import LAST_TENANT_SESSION_KEY


class StartView(TenantViewMixin, TemplateView):
    """What the member has earned (bookings credited), their gap to quota and
    what needs them today; managers for their team, admins and finance for the
    company (``spm.start.selectors.start_page``)."""

    template_name = "spm/start.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        self.request.session[LAST_TENANT_SESSION_KEY] = self.tenant.slug
        context = super().get_context_data(**kwargs)
        start = start_page(self.tenant, viewer=self.membership, today=tenant_today(self.tenant))
        context["start"] = start
        if start.commission is not None and start.year is not None:
            context["commission_chart"] = commission_by_period(
                start.commission, title=f"Commission published in {start.year.label}"
            )
        return context
