"""Shared pieces of the goals pages: the page mixin (fiscal year, grid settings)
and small form helpers."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import BadRequest
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from goals.models import Measure
from goals.selectors import QuotaGrid, quota_grid
from spm.models import Role
from spm.periods import fiscal_year_of
from spm.tenancy.views import TenantViewMixin

GRID_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.FINANCE})


VIEWS = {"month": "Months", "quarter": "Quarters", "year": "Year"}


HUNDRED = Decimal(100)


def _plain(value: Decimal) -> Decimal:
    """40.000000 -> 40 (no exponent, for form initial values)."""
    return Decimal(format(value.normalize(), "f"))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


class GoalsPageMixin(TenantViewMixin):
    """The fiscal year and grid settings a page was asked for."""

    def fiscal_year(self) -> int:
        current = fiscal_year_of(timezone.localdate(), self.tenant.fiscal_year_start_month)
        return _int(self.request.GET.get("year") or self.request.POST.get("year"), current)

    def grid_kind(self) -> str:
        # Quotas are set by quarter (the allocation and the demo work in quarters):
        # the grid opens on quarters.
        kind = self.request.GET.get("view") or self.request.POST.get("view") or "quarter"
        return kind if kind in VIEWS else "quarter"

    def measure(self) -> str:
        """The measure asked for (default bookings). An unknown one is refused on
        a write (BadRequest, a 400) and falls back to bookings on a read."""
        measure = self.request.GET.get("measure") or self.request.POST.get("measure")
        if not measure or measure in Measure.values:
            return measure or Measure.BOOKINGS
        if self.request.method == "POST":
            raise BadRequest(
                f"'{measure}' is not a measure; choose one of {', '.join(Measure.values)}."
            )
        return Measure.BOOKINGS

    def requested_grid(self) -> QuotaGrid:
        """The quota grid asked for (year, view, measure), as the member sees it."""
        return quota_grid(
            self.tenant,
            viewer=self.membership,
            fiscal_year=self.fiscal_year(),
            kind=self.grid_kind(),
            measure=self.measure(),
        )

    def grid_page(self) -> int:
        """The page of teams asked for (the grid shows ``GRID_TEAMS_PER_PAGE``)."""
        return max(1, _int(self.request.GET.get("page"), 1))

    def grid_params(self) -> str:
        """The grid's settings as a query string (year, view, measure)."""
        return f"year={self.fiscal_year()}&view={self.grid_kind()}&measure={self.measure()}"

    def grid_url(self) -> str:
        """The grid as asked for, its page included: where the dialogs return."""
        base = reverse("goals:quota-grid", kwargs={"tenant_slug": self.tenant.slug})
        page = self.grid_page()
        return f"{base}?{self.grid_params()}" + (f"&page={page}" if page > 1 else "")

    def redirect_to_grid(self) -> HttpResponse:
        if self.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = self.grid_url()
            return response
        return HttpResponseRedirect(self.grid_url())
