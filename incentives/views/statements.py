"""Statement pages: a rep's own ("My statements"), a manager's subtree's (read
only), every member's for admins and finance with the period's totals and
exceptions (``selectors.statements_visible``, ``selectors.period_statements``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import DetailView, ListView, View

from incentives import selectors, selectors_trust
from incentives.models import Statement
from incentives.views_trust import statement_trust_context
from kpis.views.common import PeriodMixin
from spm.tenancy.views import TenantViewMixin


class IncentivesHomeView(TenantViewMixin, View):
    """The pillar's entry in the main navigation: the statements."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponseRedirect(
            reverse("incentives:statement-list", kwargs={"tenant_slug": self.tenant.slug})
        )


class StatementListView(PeriodMixin, ListView):
    """A rep's statements, newest period first; for everyone else one period's
    statements in reach (the period picker), with totals and exceptions."""

    model = Statement
    context_object_name = "statements"
    paginate_by = 50

    def get_template_names(self) -> list[str]:
        if self.reach.is_manager or self.reach.reads_all:
            return ["incentives/statement_period.html"]
        return ["incentives/statement_list.html"]

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        visible = (
            selectors.statements_visible(self.tenant, reach=self.reach)
            .select_related("period", "membership__user", "run")
            .order_by("-period__end", "period__kind", "membership__user__last_name", "id")
        )
        return selectors_trust.with_acknowledgement(self.tenant, visible)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.period is not None and (self.reach.is_manager or self.reach.reads_all):
            context["review"] = selectors.period_statements(
                self.tenant, reach=self.reach, period=self.period
            )
        else:
            # A rep's own statements: the plans they are asked to accept.
            context["to_accept"] = list(
                selectors_trust.assignments_to_accept(
                    self.tenant, membership=self.membership, accepted=False
                )
            )
        context["active_tab"] = "statements"
        return context


class StatementDetailView(TenantViewMixin, DetailView):
    """One statement with every line and its explanation."""

    model = Statement
    template_name = "incentives/statement_detail.html"
    context_object_name = "statement"

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return selectors.statements_visible(self.tenant, reach=self.reach).select_related(
            "period", "membership__user", "run", "version__plan"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["lines"] = self.object.lines.filter(tenant=self.tenant).order_by("position")
        context["active_tab"] = "statements"
        context.update(statement_trust_context(self, self.object))
        return context
