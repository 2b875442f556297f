"""Leaderboards: reps ranked on one KPI in one period."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from kpis import charts, selectors
from kpis.definitions import BY_KEY, RATIO, kpi_def
from kpis.views.common import PeriodMixin, query_without
from spm.models import Team


class LeaderboardView(PeriodMixin, TemplateView):
    """Reps ranked on one KPI in one period. Every member sees the reps'
    leaderboards (names, rank and the ranked KPI only); quota figures stay private."""

    template_name = "kpis/leaderboards.html"
    page_size = 25

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        kpi = self.request.GET.get("kpi", "bookings")
        if kpi not in selectors.LEADERBOARD_KPIS:
            kpi = "bookings"
        teams = list(Team.objects.filter(tenant=self.tenant).order_by("path"))
        team = next((x for x in teams if str(x.pk) == self.request.GET.get("team", "")), None)
        # Ranked in SQL, only the shown page, the chart's top and the viewer's
        # row loaded (ranks stay global); a viewer ranked off the shown page
        # gets their own row after it.
        board = (
            selectors.leaderboard_page(
                self.tenant,
                period=self.period,
                kpi=kpi,
                viewer=self.membership,
                team=team,
                page=self.request.GET.get("page") or 1,
                per_page=self.page_size,
            )
            if self.period
            else None
        )
        definition = kpi_def(kpi)
        context.update(
            kpi=kpi,
            kpi_label=definition.label,
            kpi_choices=[(k, BY_KEY[k].label) for k in selectors.LEADERBOARD_KPIS],
            teams=teams,
            team=team,
            rows=board.rows if board else [],
            page_obj=board.page if board else None,
            my_row=board.mine if board else None,
            query_keep=query_without(self.request, "page"),
            figures={
                "board": charts.leaderboard_bars(
                    board.top if board else [],
                    title=f"{definition.label} · {self.period.label if self.period else ''}",
                    axis=definition.label
                    + (
                        " (%)"
                        if definition.unit == RATIO
                        else f" ({self.tenant.currency})"
                        if definition.unit == "money"
                        else ""
                    ),
                    percent=definition.unit == RATIO,
                )
            },
        )
        return context
