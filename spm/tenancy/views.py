"""The one base for tenant pages: login, membership, role, and scoping."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase

from spm.models import Membership, Tenant
from spm.permissions import ALL_ROLES


class TenantViewMixin:
    """Base of every page under /<tenant_slug>/.

    Anonymous users go to the login page; users without a membership in the
    tenant get a 404 (no existence leak); users whose role is not in
    ``allowed_roles`` get a 403 page that says which role is needed.

    Querysets come from ``get_queryset()``, which subclasses cannot override:
    they narrow it through ``scope_queryset(qs)`` (role scoping) instead.
    """

    allowed_roles: ClassVar[frozenset[str]] = ALL_ROLES
    model: Any = None
    request: HttpRequest
    kwargs: dict[str, Any]
    tenant: Tenant
    membership: Membership

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides get_queryset(); override scope_queryset() instead."
            )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant = getattr(request, "tenant", None)
        membership = getattr(request, "membership", None)
        if tenant is None or membership is None:
            raise Http404("Not found.")
        if membership.role not in self.allowed_roles:
            roles = ", ".join(sorted(self.allowed_roles))
            raise PermissionDenied(f"This page needs one of these roles: {roles}.")
        self.tenant = tenant
        self.membership = membership
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def base_queryset(self) -> QuerySet:
        if self.model is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a model.")
        return self.model.objects.filter(tenant=self.tenant)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        """Narrow to what this member may see. Default: the whole tenant."""
        return qs

    def get_queryset(self) -> QuerySet:
        return self.scope_queryset(self.base_queryset())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.setdefault("tenant", self.tenant)
        context.setdefault("membership", self.membership)
        return context
