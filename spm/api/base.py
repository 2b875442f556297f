"""The one base for tenant API endpoints (STYLE.md habit 3)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.request import Request

from spm.api.csv import CsvListModelMixin
from spm.models import Membership, Tenant
from spm.permissions import ALL_ROLES
from spm.tenancy.middleware import resolve_membership


class TenantViewSetMixin:
    """Tenant, membership and role checks for every viewset under
    /api/v1/<tenant_slug>/.

    - ``read_roles`` may use safe methods, ``write_roles`` the others.
    - Not a member of the tenant: 404. Role not allowed: 403 naming the roles.
    - ``get_queryset`` is final: subclasses narrow through ``scope_queryset``.
    """

    read_roles: ClassVar[frozenset[str]] = ALL_ROLES
    write_roles: ClassVar[frozenset[str]] = ALL_ROLES
    queryset: Any = None
    tenant: Tenant
    membership: Membership

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides get_queryset(); override scope_queryset() instead."
            )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.perform_authentication(request)  # type: ignore[attr-defined]
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            # An unknown slug answers as a real one: 401 to anonymous callers, 404 to others.
            if request.user and request.user.is_authenticated:
                raise NotFound()
            raise NotAuthenticated()
        if request.user and request.user.is_authenticated:
            request._request.user = request.user
            membership = resolve_membership(request._request)
            if membership is None:
                raise NotFound()
            roles = (
                self.read_roles if request.method in permissions.SAFE_METHODS else self.write_roles
            )
            if membership.role not in roles:
                raise PermissionDenied(
                    f"This action needs one of these roles: {', '.join(sorted(roles))}."
                )
            self.tenant = tenant
            self.membership = membership
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def base_queryset(self) -> QuerySet:
        if self.queryset is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a queryset.")
        return self.queryset.model.objects.filter(tenant=self.tenant)

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        """Narrow to what this member may see. Default: the whole tenant."""
        return qs

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.model.objects.none()
        return self.scope_queryset(self.base_queryset())

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["tenant"] = getattr(self, "tenant", None)
        context["membership"] = getattr(self, "membership", None)
        return context


class TenantModelViewSet(TenantViewSetMixin, CsvListModelMixin, viewsets.ModelViewSet):
    pass


class TenantReadOnlyViewSet(TenantViewSetMixin, CsvListModelMixin, viewsets.ReadOnlyModelViewSet):
    pass


class TenantGenericViewSet(TenantViewSetMixin, viewsets.GenericViewSet):
    pass


class TenantPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related field whose choices are the current tenant's rows, looked up at
    validation time (a class-level ``Model.objects`` queryset would be built
    with no tenant in context and match nothing)."""

    def __init__(self, model: Any = None, **kwargs: Any) -> None:
        self.related_model = model
        if not kwargs.get("read_only"):
            kwargs["queryset"] = model.all_tenants.none() if model is not None else None
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        tenant = self.context.get("tenant")
        return self.related_model.objects.filter(tenant=tenant)
