"""The one base for tenant pages: login, membership, role, and scoping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase

from spm.models import Membership, Tenant
from spm.permissions import ALL_ROLES
from spm.reach import Reach
from spm.tenancy.request import TenantRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails


class TenantScopedQuerysetMixin:
    """The one way pages and viewsets build querysets: ``model``'s rows of
    ``self.tenant``, narrowed by ``scope_queryset(qs)``, with the tenant filter
    applied again after the hook so that no hook can widen it."""

    model: Any = None
    tenant: Tenant

    def base_queryset(self) -> QuerySet:
        if self.model is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a model.")
        return self.model.objects.filter(tenant=self.tenant)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        """Narrow to what this member may see. Default: the whole tenant."""
        return qs

    def tenant_queryset(self) -> QuerySet:
        scoped = self.scope_queryset(self.base_queryset())
        if scoped.model is not self.model:
            raise ImproperlyConfigured(
                f"{type(self).__name__}.scope_queryset() returned {scoped.model.__name__} rows; "
                f"it must narrow the {self.model.__name__} queryset it is given."
            )
        return scoped.filter(tenant=self.tenant)


class TenantViewMixin(TenantScopedQuerysetMixin):
    """Base of every page under /<tenant_slug>/.

    Anonymous users go to the login page; users without a membership in the
    tenant get a 404 (no existence leak); users whose role is not in
    ``allowed_roles`` get a 403 page that says which role is needed.
    ``self.tenant``, ``self.membership`` and ``self.reach`` (``spm.reach``)
    are set.

    Querysets come from ``get_queryset()``, which subclasses cannot override:
    it starts from ``model``'s rows of the tenant, lets ``scope_queryset(qs)``
    narrow them (with ``self.reach``) and applies the tenant filter again.
    """

    allowed_roles: ClassVar[frozenset[str]] = ALL_ROLES
    request: HttpRequest
    kwargs: dict[str, Any]
    membership: Membership
    reach: Reach

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides get_queryset(); override scope_queryset() instead."
            )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant_request = cast(TenantRequest, request)
        tenant = tenant_request.tenant
        membership, reach = tenant_request.membership, tenant_request.reach
        if tenant is None or membership is None or reach is None:
            raise Http404("Not found.")
        if not reach.allowed(self.allowed_roles):
            roles = ", ".join(sorted(self.allowed_roles))
            raise PermissionDenied(f"This page needs one of these roles: {roles}.")
        self.tenant = tenant
        self.membership = membership
        self.reach = reach
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    @property
    def htmx(self) -> HtmxDetails:
        """django-htmx's view of the request (falsy when htmx did not send it)."""
        return cast(TenantRequest, self.request).htmx

    def get_queryset(self) -> QuerySet:
        return self.tenant_queryset()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.setdefault("tenant", self.tenant)
        context.setdefault("membership", self.membership)
        context.setdefault("reach", self.reach)
        return context
