"""What every KPI page shares: the period picker, RAG cells, pager links."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kpis import selectors
from kpis.definitions import format_value
from spm.tenancy.views import TenantViewMixin


class PeriodMixin(TenantViewMixin):
    """The period picker: ``?period=<id>``, default the current quarter."""

    def period_context(self) -> dict[str, Any]:
        periods = selectors.periods_for_picker(self.tenant)
        period = selectors.period_selected(
            self.tenant,
            periods=periods,
            period_id=self.request.GET.get("period"),  # type: ignore[attr-defined]
        )
        self.periods, self.period = periods, period
        return {"periods": periods, "period": period, "currency": self.tenant.currency}


def kpi_cells(
    values: dict[str, Decimal | None], kpis: list[Any], settings: dict[str, selectors.Setting]
) -> list[selectors.Cell]:
    # Ratio values and their thresholds are both stored as fractions of 1.
    return [
        selectors.Cell(
            values.get(k.key),
            format_value(values.get(k.key), k.unit),
            selectors.rag(values.get(k.key), settings.get(k.key)),
        )
        for k in kpis
    ]


def query_without(request: Any, name: str) -> str:
    """The current query string without ``name`` (for pager links)."""
    query = request.GET.copy()
    query.pop(name, None)
    return str(query.urlencode())
