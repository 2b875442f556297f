"""Account pages: the list and detail."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.views.generic import ListView, TemplateView

from pipeline.models import (
    Account,
    Activity,
    Deal,
    DealStatus,
)
from spm.tenancy.views import TenantViewMixin


class AccountListView(TenantViewMixin, ListView):
    """Accounts in the member's reach with their open pipeline and won total."""

    template_name = "pipeline/account_list.html"
    model = Account
    context_object_name = "accounts"
    paginate_by = 50

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        qs = qs.filter(self.reach.own("owner", unowned=True))
        query = self.request.GET.get("q", "").strip()
        if query:
            qs = qs.filter(name__icontains=query)
        return (
            qs.select_related("owner__user")
            .annotate(
                open_deals=Count("deals", filter=Q(deals__status=DealStatus.OPEN)),
                won_deals=Count("deals", filter=Q(deals__status=DealStatus.WON)),
            )
            .order_by("name", "id")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["q"] = self.request.GET.get("q", "")
        return context


class AccountDetailView(TenantViewMixin, TemplateView):
    """An account's facts (customer since, churned on), its deals and activities
    that the member may see."""

    template_name = "pipeline/account_detail.html"
    model = Account

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.own("owner", unowned=True)).select_related("owner__user")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        account = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        context["account"] = account
        context["deals"] = (
            Deal.objects.filter(self.reach.deals(), tenant=self.tenant, account=account)
            .select_related("owner__user", "stage")
            .order_by("-expected_close_date", "id")
        )
        context["activities"] = (
            Activity.objects.filter(self.reach.own("member"), tenant=self.tenant)
            .filter(Q(account=account) | Q(deal__account=account))
            .select_related("member__user", "deal")
            .order_by("-occurred_on", "-id")[:100]
        )
        return context
