"""The one base for tenant API endpoints (docs/architecture.md, "API")."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.request import Request

from spm.api.csv import CsvListModelMixin
from spm.api.errors import MissingScope
from spm.api.scopes import Scope, scope_denial
from spm.api.tokens import request_token
from spm.models import Membership
from spm.permissions import ALL_ROLES
from spm.reach import Reach
from spm.tenancy.middleware import resolve_membership
from spm.tenancy.request import TenantRequest
from spm.tenancy.views import TenantScopedQuerysetMixin


class TenantViewSetMixin(TenantScopedQuerysetMixin):
    """Tenant, membership and role checks for every viewset under
    /api/v1/<tenant_slug>/.

    - ``read_roles`` may use safe methods, ``write_roles`` the others.
    - Not a member of the tenant: 404. Role not allowed: 403 naming the roles.
    - Subclasses declare ``model``; ``get_queryset`` is final: it starts from
      the model's rows of the tenant, lets ``scope_queryset(qs)`` narrow them
      (with ``self.reach``) and applies the tenant filter again.
    - A record the member may read but not change (``may_write(obj)`` false)
      answers 403 to every other method, and nothing is written.
    - A tenant API token (``spm.api.tokens``) of another tenant gets 404, as
      any foreign slug; one without ``token_read_scope`` / ``token_write_scope``
      (``spm.api.scopes``) gets 403 naming the scope.
    """

    read_roles: ClassVar[frozenset[str]] = ALL_ROLES
    write_roles: ClassVar[frozenset[str]] = ALL_ROLES
    token_read_scope: ClassVar[str | None] = Scope.REPORTS_READ
    token_write_scope: ClassVar[str | None] = None
    membership: Membership
    reach: Reach

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides get_queryset(); override scope_queryset() instead."
            )
        if "queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__name__} sets queryset; declare model = <Model> instead."
            )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.perform_authentication(request)  # type: ignore[attr-defined]
        http_request = cast(TenantRequest, request._request)
        tenant = http_request.tenant
        if tenant is None:
            # An unknown slug answers as a real one: 401 to anonymous callers, 404 to others.
            if request.user and request.user.is_authenticated:
                raise NotFound()
            raise NotAuthenticated()
        if request.user and request.user.is_authenticated:
            safe = request.method in permissions.SAFE_METHODS
            self.check_token(request, tenant_id=tenant.pk, safe=safe)
            http_request.user = request.user
            membership = resolve_membership(http_request)
            if membership is None or http_request.reach is None:
                raise NotFound()
            roles = self.read_roles if safe else self.write_roles
            if not http_request.reach.allowed(roles):
                raise PermissionDenied(
                    f"This action needs one of these roles: {', '.join(sorted(roles))}."
                )
            self.tenant = tenant
            self.membership = membership
            self.reach = http_request.reach
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def check_token(self, request: Request, *, tenant_id: int, safe: bool) -> None:
        token = request_token(request)
        if token is None:
            return
        if token.tenant_id != tenant_id:
            raise NotFound()
        denial = scope_denial(
            safe=safe,
            read_scope=self.token_read_scope,
            write_scope=self.token_write_scope,
            held=frozenset(token.scopes),
        )
        if denial is not None:
            raise MissingScope(denial)

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation: only the model is read, outside any tenant.
            return self.model.unscoped().none()
        return self.tenant_queryset()

    def may_write(self, obj: Any) -> bool:
        """Whether the member may change ``obj``, which they can read. Default: yes."""
        return True

    def check_object_permissions(self, request: Request, obj: Any) -> None:
        super().check_object_permissions(request, obj)  # type: ignore[misc]
        if request.method not in permissions.SAFE_METHODS and not self.may_write(obj):
            raise PermissionDenied("You may read this record but not change it.")

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
            # Only satisfies DRF's check; get_queryset() gives the choices.
            kwargs["queryset"] = model.objects.none() if model is not None else None
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        tenant = self.context.get("tenant")
        return self.related_model.objects.filter(tenant=tenant)
