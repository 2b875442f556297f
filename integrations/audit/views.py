"""The audit trail page: /<tenant>/integrations/audit/ (admins and finance)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.generic import TemplateView

from integrations.audit.selectors import (
    AuditRecordFilter,
    audit_changes,
    audit_records_with_actors,
    audit_value_text,
    object_type_name,
)
from integrations.models import AuditRecord
from spm.models import Membership
from spm.permissions import READ_ALL
from spm.tenancy.views import TenantViewMixin

PAGE_SIZE = 50


class AuditTrailView(TenantViewMixin, TemplateView):
    """Recorded changes, newest first, filtered by object type, object,
    person and days, each with what it changed; 50 a page; the same list as
    CSV or XLSX from the API (``GET audit/?format=csv``)."""

    template_name = "integrations/audit_list.html"
    model = AuditRecord
    allowed_roles = READ_ALL

    def scope_queryset(self, qs: Any) -> Any:
        return audit_records_with_actors(qs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        filterset = AuditRecordFilter(request.GET or None, queryset=self.get_queryset())
        valid = filterset.is_valid() if filterset.is_bound else True
        records = filterset.qs if valid else AuditRecord.objects.none()
        page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
        context = self.get_context_data(
            filterset=filterset,
            page_obj=page,
            rows=[
                {
                    "record": record,
                    "object_name": object_type_name(record.object_type),
                    "changes": [
                        {
                            "field": change.field,
                            "before": audit_value_text(change.before),
                            "after": audit_value_text(change.after),
                        }
                        for change in audit_changes(record)
                    ],
                    "context": record.context or {},
                }
                for record in page.object_list
            ],
            people=list(
                Membership.objects.filter(tenant=self.tenant)
                .select_related("user")
                .order_by("user__first_name", "user__last_name", "user__email")
            ),
            query=self._query_without("page"),
            export_url=reverse("audit-record-list", kwargs={"tenant_slug": self.tenant.slug}),
            active="audit",
        )
        return self.render_to_response(context, status=200 if valid else 400)

    def _query_without(self, name: str) -> str:
        query = self.request.GET.copy()
        query.pop(name, None)
        return query.urlencode()
