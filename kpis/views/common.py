"""What every KPI page shares: the period picker and pager links."""

from __future__ import annotations

from typing import Any

from kpis import selectors
from spm.tenancy.views import TenantViewMixin


class PeriodMixin(TenantViewMixin):
    """The period picker: ``?period=<id>``, default the current quarter."""

    def period_context(self) -> dict[str, Any]:
        periods = selectors.periods_for_picker(self.tenant)
        period = selectors.period_selected(
            self.tenant,
            periods=periods,
            period_id=self.request.GET.get("period"),
        )
        self.periods, self.period = periods, period
        return {"periods": periods, "period": period, "currency": self.tenant.currency}


def query_without(request: Any, name: str) -> str:
    """The current query string without ``name`` (for pager links)."""
    query = request.GET.copy()
    query.pop(name, None)
    return str(query.urlencode())
