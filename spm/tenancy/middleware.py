"""Resolve the tenant from the URL and run the request inside its context."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils import timezone

from spm.models import Membership, Tenant
from spm.tenancy.context import set_db_user, tenant_context

TENANT_KWARG = "tenant_slug"


def resolve_membership(request: HttpRequest) -> Membership | None:
    """The active membership of ``request.user`` in ``request.tenant``; sets
    ``request.membership`` and the RLS user. Call inside the tenant context."""
    user = getattr(request, "user", None)
    tenant = getattr(request, "tenant", None)
    membership = None
    if tenant is not None and user is not None and user.is_authenticated:
        set_db_user(user.pk)
        membership = (
            Membership.objects.select_related("user", "team")
            .filter(tenant=tenant, user=user, is_active=True)
            .first()
        )
    request.membership = membership  # type: ignore[attr-defined]
    return membership


class TenantMiddleware:
    """Pages under /<tenant_slug>/ and API under /api/v1/<tenant_slug>/ run in
    one transaction with ``app.tenant_id`` set, so RLS and the scoped managers
    both see that tenant only. Membership is checked by the base view and
    viewset (after DRF authentication); an unknown slug is a 404."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        try:
            match = resolve(request.path_info)
        except Resolver404:
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
        slug = match.kwargs.get(TENANT_KWARG)
        if slug is None:
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {
                        "type": "about:blank",
                        "title": "Not Found",
                        "status": 404,
                        "detail": "Not found.",
                    },
                    status=404,
                    content_type="application/problem+json",
                )
            raise Http404("No such tenant.")
        request.tenant = tenant  # type: ignore[attr-defined]
        # Dates ("today", the current period) are the tenant's, not the server's.
        timezone.activate(ZoneInfo(tenant.time_zone))
        with tenant_context(tenant):
            if request.user.is_authenticated:
                resolve_membership(request)
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
