"""The pipeline board: deals by stage, and moving a deal between stages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.views.generic import TemplateView, View

from pipeline import selectors, services
from pipeline.models import (
    ChangeSource,
    Deal,
    Pipeline,
    Stage,
)
from pipeline.views.common import DealFilters, parse_id
from pipeline.views.deals import DealPageMixin
from spm.models import Tenant
from spm.permissions import SELLERS
from spm.reach import Reach
from spm.tenancy.views import TenantViewMixin


def board_context(
    tenant: Tenant, reach: Reach, visible: QuerySet[Deal], params: QueryDict
) -> dict[str, Any]:
    """Columns of the chosen pipeline (default: the first active one) for the
    deals in ``visible`` that pass the filters in ``params``."""
    pipelines = list(
        Pipeline.objects.filter(tenant=tenant, is_active=True).order_by("position", "id")
    )
    chosen = params.get("pipeline", "")
    pipeline = next(
        (p for p in pipelines if str(p.pk) == chosen), pipelines[0] if pipelines else None
    )
    filters = DealFilters(tenant, reach, params)
    deals = filters.apply(visible, default_period=True)
    context = filters.context(default_period=True)
    context.update(
        {
            "pipeline": pipeline,
            "pipelines": pipelines,
            "columns": selectors.board_columns(
                tenant,
                pipeline=pipeline,
                deals=deals,
                movable=reach.deals(write=True),
                today=services.tenant_today(tenant),
            )
            if pipeline
            else [],
            "can_move": reach.allowed(DealMoveView.allowed_roles),
            "query": params.urlencode(),
        }
    )
    return context


class BoardView(TenantViewMixin, TemplateView):
    """Columns per stage with cards; drag a card to move the deal (htmx)."""

    template_name = "pipeline/board.html"
    model = Deal

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.filter(self.reach.deals())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            board_context(self.tenant, self.reach, self.get_queryset(), self.request.GET)
        )
        return context

    def get_template_names(self) -> list[str]:
        if self.htmx.target == "board":
            return ["pipeline/partials/board.html"]
        return [self.template_name]


class DealMoveView(DealPageMixin, View):
    """POST stage=<id>: move a deal (the board's drop). Answers the re-rendered
    board for htmx, else redirects to the deal."""

    allowed_roles = SELLERS

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        deal = self.deal_to_change(kwargs["pk"])
        stage_id = parse_id(request.POST.get("stage"))
        stage = Stage.objects.filter(tenant=self.tenant, pk=stage_id).first() if stage_id else None
        error = None
        if stage is None:
            error = "Choose a stage."
        else:
            try:
                services.deal_move(
                    self.tenant,
                    deal=deal,
                    stage=stage,
                    actor=self.membership,
                    via=ChangeSource.BOARD,
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
        if self.htmx:
            context = board_context(
                self.tenant,
                self.reach,
                self.get_queryset(),
                QueryDict(request.POST.get("query", "")),
            )
            context.update({"tenant": self.tenant, "membership": self.membership})
            context["move_error"] = error
            context["moved_deal_id"] = deal.pk
            return render(request, "pipeline/partials/board.html", context)
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{deal.name} moved to {stage.name}.")  # type: ignore[union-attr]
        return redirect("pipeline:deal-detail", tenant_slug=self.tenant.slug, pk=deal.pk)
