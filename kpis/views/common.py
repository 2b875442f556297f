"""What every KPI page shares: the period picker and pager links."""

from __future__ import annotations

from typing import Any

from kpis import selectors
from spm.tenancy.views import TenantViewMixin


class PeriodMixin(TenantViewMixin):
    """The period picker: ``?period=<id>``, default the current quarter."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """The page's context with the picker's periods, the period shown
        (``self.period``, None when the tenant has no periods) and the currency."""
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        self.periods = selectors.periods_for_picker(self.tenant)
        self.period = selectors.period_selected(
            self.tenant,
            periods=self.periods,
            period_id=self.request.GET.get("period"),
        )
        context.update(periods=self.periods, period=self.period, currency=self.tenant.currency)
        return context


def query_without(request: Any, name: str) -> str:
    """The current query string without ``name`` (for pager links)."""
    query = request.GET.copy()
    query.pop(name, None)
    return str(query.urlencode())
