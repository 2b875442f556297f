"""My targets: the goals home page."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from goals import selectors
from goals.models import Goal, Quota
from goals.views.base import GRID_ROLES, GoalsPageMixin


class GoalsHomeView(GoalsPageMixin, TemplateView):
    """My quotas for the year, my goals with progress, my objectives and score."""

    template_name = "goals/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        year = self.fiscal_year()
        quotas = list(
            Quota.objects.filter(
                tenant=self.tenant, membership=self.membership, period__fiscal_year=year
            )
            .select_related("period", "membership")
            .order_by("period__start", "-period__end")
        )
        for quota in quotas:
            quota.prorated = selectors.effective_member_quota(quota)  # type: ignore[attr-defined]
        context.update(
            year=year,
            quotas=quotas,
            goals=list(
                Goal.objects.filter(tenant=self.tenant, owner_membership=self.membership)
                .select_related("parent")
                .order_by("due_date")
            ),
            objective_sets=selectors.objective_sets(
                self.tenant, viewer=self.membership, membership=self.membership
            ),
            can_open_grid=self.reach.allowed(GRID_ROLES),
        )
        return context
