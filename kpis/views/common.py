"""What every KPI page shares: the period picker and pager links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from kpis import selectors
from spm.periods import period_picker
from spm.tenancy.views import TenantViewMixin


class PeriodMixin(TenantViewMixin):
    """The period picker: ``?period=<id>``, default the current quarter; the
    other query parameters (KPI, team) are kept when the period changes."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """The page's context with the picker (``_period_picker.html``), the
        period shown (``self.period``, None when the tenant has no periods)."""
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        request = self.request
        self.periods = selectors.periods_for_picker(self.tenant)
        self.period = selectors.period_selected(
            self.tenant, periods=self.periods, period_id=request.GET.get("period")
        )
        fields = [
            (name, value)
            for name, value in request.GET.items()
            if name not in ("period", "page", "people")
        ]
        keep = urlencode(fields)
        context.update(
            periods=self.periods,
            period=self.period,
            picker=period_picker(self.periods, self.period, today=timezone.localdate())
            if self.period
            else None,
            picker_keep=f"{keep}&" if keep else "",
            picker_fields=fields,
        )
        return context


def query_without(request: Any, name: str) -> str:
    """The current query string without ``name`` (for pager links)."""
    query = request.GET.copy()
    query.pop(name, None)
    return str(query.urlencode())
