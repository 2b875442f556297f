"""Stage settings: pipelines and their stages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from pipeline import selectors, services
from pipeline.forms import (
    PipelineForm,
    StageForm,
)
from pipeline.models import (
    Deal,
    Pipeline,
    Stage,
)
from spm.forms import form_errors_add
from spm.permissions import ADMIN
from spm.tenancy.views import TenantViewMixin


class StageSettingsView(TenantViewMixin, TemplateView):
    """Admins rename, reorder, add, retire and delete stages; add pipelines."""

    template_name = "pipeline/stages.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pipelines = selectors.pipelines_with_stages(self.tenant)
        counts = dict(
            Deal.objects.filter(tenant=self.tenant)
            .values_list("stage_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        for pipeline in pipelines:
            for stage in pipeline.stages.all():
                stage.deal_count = counts.get(stage.pk, 0)  # type: ignore[attr-defined]
                stage.form = StageForm(instance=stage, prefix=f"s{stage.pk}")  # type: ignore[attr-defined]
            pipeline.new_stage_form = StageForm(prefix=f"new{pipeline.pk}")  # type: ignore[attr-defined]
        context["pipelines"] = pipelines
        context.setdefault("pipeline_form", PipelineForm())
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PipelineForm(request.POST)
        if form.is_valid():
            try:
                services.pipeline_create(
                    self.tenant, name=form.cleaned_data["name"], actor=self.membership
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, f"Pipeline {form.cleaned_data['name']} was added.")
                return redirect("pipeline:stages", tenant_slug=self.tenant.slug)
        return self.render_to_response(self.get_context_data(pipeline_form=form))


class StageAddView(TenantViewMixin, View):
    model = Pipeline
    allowed_roles = ADMIN

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pipeline = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        form = StageForm(request.POST, prefix=f"new{pipeline.pk}")
        if form.is_valid():
            try:
                services.stage_create(
                    self.tenant, pipeline=pipeline, actor=self.membership, **form.cleaned_data
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, f"Stage {form.cleaned_data['name']} was added.")
        else:
            messages.error(
                request,
                "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
            )
        return redirect("pipeline:stages", tenant_slug=self.tenant.slug)


class StageEditView(TenantViewMixin, View):
    """POST with action save / retire / restore / up / down / delete."""

    model = Stage
    allowed_roles = ADMIN

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        stage = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        action = request.POST.get("action", "save")
        try:
            if action == "save":
                form = StageForm(
                    request.POST, instance=Stage.objects.get(pk=stage.pk), prefix=f"s{stage.pk}"
                )
                if not form.is_valid():
                    raise ValidationError({k: v for k, v in form.errors.items()})
                services.stage_update(
                    self.tenant, stage=stage, actor=self.membership, **form.cleaned_data
                )
                messages.success(request, f"Stage {form.cleaned_data['name']} was saved.")
            elif action in ("retire", "restore"):
                services.stage_update(
                    self.tenant, stage=stage, actor=self.membership, is_active=action == "restore"
                )
                messages.success(
                    request,
                    f"Stage {stage.name} was {'restored' if action == 'restore' else 'retired'}.",
                )
            elif action in ("up", "down"):
                ids = list(
                    Stage.objects.filter(tenant=self.tenant, pipeline_id=stage.pipeline_id)
                    .order_by("position", "id")
                    .values_list("id", flat=True)
                )
                index = ids.index(stage.pk)
                other = index - 1 if action == "up" else index + 1
                if 0 <= other < len(ids):
                    ids[index], ids[other] = ids[other], ids[index]
                    services.stage_reorder(
                        self.tenant, pipeline=stage.pipeline, stage_ids=ids, actor=self.membership
                    )
            elif action == "delete":
                services.stage_delete(self.tenant, stage=stage, actor=self.membership)
                messages.success(request, f"Stage {stage.name} was deleted.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("pipeline:stages", tenant_slug=self.tenant.slug)
