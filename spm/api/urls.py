"""/api/v1/: auth, schema, docs, and every tenant's resources under /api/v1/<tenant_slug>/.

Pillar apps register their viewsets on ``tenant_router`` from their own
``api.py`` through ``spm.api.registry``.
"""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from spm.api import core
from spm.api.parsers import JSONParser
from spm.api.registry import tenant_router

tenant_router.register("members", core.MemberViewSet, basename="member")
tenant_router.register("teams", core.TeamViewSet, basename="team")
tenant_router.register("periods", core.PeriodViewSet, basename="period")

urlpatterns = [
    path(
        "auth/token/",
        core.TokenView.as_view(parser_classes=[JSONParser]),  # JSON, as every API body
        name="api-token",
    ),
    path("me/", core.me, name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("<slug:tenant_slug>/", include(tenant_router.urls)),
]
