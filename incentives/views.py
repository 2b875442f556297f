"""Statement pages: "My statement" for a rep, the subtree's for a manager,
every statement for admins and finance (``selectors.statements_visible``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.views.generic import DetailView, ListView

from incentives import selectors
from incentives.models import Statement
from spm.tenancy.views import TenantViewMixin


class StatementListView(TenantViewMixin, ListView):
    """The statements the member may read, newest period first."""

    model = Statement
    template_name = "incentives/statement_list.html"
    context_object_name = "statements"
    paginate_by = 50

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return (
            selectors.statements_visible(self.tenant, reach=self.reach)
            .select_related("period", "membership__user", "run")
            .order_by("-period__end", "period__kind", "membership__user__last_name", "id")
        )


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
        return context
