"""The router every tenant viewset registers on."""

from rest_framework.routers import DefaultRouter


class TenantRouter(DefaultRouter):
    include_root_view = False
    include_format_suffixes = False


tenant_router = TenantRouter()
