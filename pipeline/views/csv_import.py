"""CSV import pages: upload, column mapping, progress and error report."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView

from pipeline import importing
from pipeline.forms import (
    ImportMappingForm,
    ImportUploadForm,
)
from pipeline.models import (
    ImportBatch,
)
from spm.forms import form_errors_add
from spm.permissions import ADMIN
from spm.tenancy.views import TenantViewMixin


class ImportView(TenantViewMixin, TemplateView):
    """Upload a CSV file; the next step maps its columns."""

    template_name = "pipeline/import.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportUploadForm())
        context["batches"] = (
            ImportBatch.objects.filter(tenant=self.tenant)
            .select_related("run")
            .only(
                "id", "kind", "filename", "created_at", "run__status", "run__message", "run__rows"
            )[:20]
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = importing.import_batch_create(
                    self.tenant,
                    kind=form.cleaned_data["kind"],
                    filename=upload.name,
                    content=importing.decode_upload(upload.read()),
                    actor=self.membership,
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                return redirect("pipeline:import-detail", tenant_slug=self.tenant.slug, pk=batch.pk)
        return self.render_to_response(self.get_context_data(form=form))


class ImportDetailView(TenantViewMixin, TemplateView):
    """Map the columns, start the import, watch its progress and error report."""

    template_name = "pipeline/import_detail.html"
    model = ImportBatch
    allowed_roles = ADMIN

    def batch(self) -> ImportBatch:
        return get_object_or_404(self.get_queryset().select_related("run"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        batch = kwargs.get("batch") or self.batch()
        headers, rows = importing.read_csv(batch.content)
        context.update(
            {
                "batch": batch,
                "run": batch.run,
                "row_count": len(rows),
                "samples": {h: [r[1].get(h, "") for r in rows[:3]] for h in batch.headers},
            }
        )
        context.setdefault(
            "form",
            ImportMappingForm(
                kind=batch.kind,
                headers=batch.headers,
                mapping=batch.mapping,
                initial={"all_or_nothing": batch.all_or_nothing},
            ),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        batch = self.batch()
        form = ImportMappingForm(
            request.POST, kind=batch.kind, headers=batch.headers, mapping=batch.mapping
        )
        if form.is_valid():
            try:
                importing.import_batch_set_mapping(
                    self.tenant,
                    batch=batch,
                    mapping=form.mapping(),
                    all_or_nothing=form.cleaned_data["all_or_nothing"],
                )
                importing.import_batch_start(self.tenant, batch=batch, actor=self.membership)
            except ValidationError as exc:
                form_errors_add(form, exc, prefix="map_")
            else:
                return HttpResponseRedirect(
                    reverse(
                        "pipeline:import-detail",
                        kwargs={"tenant_slug": self.tenant.slug, "pk": batch.pk},
                    )
                )
        return self.render_to_response(self.get_context_data(batch=batch, form=form))


class ImportStatusView(TenantViewMixin, TemplateView):
    """The progress bar and, once finished, the report (polled by htmx). The
    poll that sees the run finish reloads the page, which then offers the
    mapping form again (to fix the mapping and retry) under the report."""

    template_name = "pipeline/partials/import_status.html"
    model = ImportBatch
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        batch = get_object_or_404(self.get_queryset().select_related("run"), pk=self.kwargs["pk"])
        context["batch"] = batch
        context["run"] = batch.run
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        run = context["run"]
        if getattr(self.request, "htmx", False) and run is not None and run.is_finished:
            response["HX-Refresh"] = "true"
        return response
