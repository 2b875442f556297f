"""Resolve the tenant from the URL and run the request inside its context."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone

from spm.models import Membership, Tenant
from spm.reach import Reach
from spm.tenancy.context import set_db_user, tenant_context
from spm.tenancy.request import TenantRequest

TENANT_KWARG = "tenant_slug"


def resolve_membership(request: TenantRequest) -> Membership | None:
    """The active membership of ``request.user`` in ``request.tenant``; sets
    ``request.membership``, ``request.reach`` and the RLS user. Call inside the
    tenant context."""
    user = getattr(request, "user", None)
    tenant = request.tenant
    membership = None
    if tenant is not None and user is not None and user.is_authenticated:
        set_db_user(user.pk)
        membership = (
            Membership.objects.select_related("user", "team")
            .filter(tenant=tenant, user=user, is_active=True)
            .first()
        )
    request.membership = membership
    request.reach = Reach(membership) if membership is not None else None
    return membership


class TenantMiddleware:
    """Pages under /<tenant_slug>/ and API under /api/v1/<tenant_slug>/ run in
    one transaction with ``app.tenant_id`` set, so RLS and the scoped managers
    both see that tenant only. Membership is checked by the base view and
    viewset (after DRF authentication); an unknown slug reaches them with no
    tenant and gets the answer a non-member gets."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        request = cast(TenantRequest, http_request)
        request.tenant = None
        request.membership = None
        request.reach = None
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
        # Read before the branch, so the session is touched (Vary: Cookie) whether or not
        # the slug exists.
        signed_in = request.user.is_authenticated
        if tenant is None:
            # The view answers as it does for a real tenant the caller has no
            # membership in (anonymous: the login page or a 401; signed in: a
            # 404), so a slug's existence never shows.
            return self.get_response(request)
        request.tenant = tenant
        # Dates ("today", the current period) are the tenant's, not the server's.
        timezone.activate(ZoneInfo(tenant.time_zone))
        with tenant_context(tenant):
            if signed_in:
                resolve_membership(request)
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
