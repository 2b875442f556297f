"""URLs: auth, admin, API, then every tenant page under /<tenant_slug>/."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from spm import views
from spm.handlers import bad_request, page_not_found
from spm.start.views import StartView

# Pillar and platform apps that ship `urls.py` (pages) and `api.py` (viewsets) are
# wired in here, in dependency order, so adding an app never means editing this file.
PILLAR_APPS: list[str] = [*settings.PILLAR_APPS, *settings.PLATFORM_APPS]

for _app in PILLAR_APPS:
    if apps.is_installed(_app) and find_spec(f"{_app}.api"):
        import_module(f"{_app}.api")

tenant_patterns: list[URLPattern | URLResolver] = [
    path("", StartView.as_view(), name="tenant-home"),
    path("settings/", views.TenantSettingsView.as_view(), name="tenant-settings"),
    path("people/", views.PeopleListView.as_view(), name="people-list"),
    path("people/add/", views.MemberAddView.as_view(), name="member-add"),
    path("people/<int:pk>/", views.MemberEditView.as_view(), name="member-edit"),
    path("teams/", views.TeamListView.as_view(), name="team-list"),
    path("teams/add/", views.TeamFormView.as_view(), name="team-add"),
    path("teams/<int:pk>/", views.TeamFormView.as_view(), name="team-edit"),
    path("periods/", views.PeriodListView.as_view(), name="period-list"),
    path("periods/<int:pk>/close/", views.PeriodCloseView.as_view(), name="period-close"),
    path("runs/<int:pk>/", views.TaskRunView.as_view(), name="task-run"),
]
for _app in PILLAR_APPS:
    if apps.is_installed(_app) and find_spec(f"{_app}.urls"):
        tenant_patterns.append(path(f"{_app}/", include(f"{_app}.urls")))

handler400 = bad_request
handler404 = page_not_found

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("spm.api.urls")),
    # Apps' URLs outside any tenant (an OpenID Connect callback), from their global_urls.
    *(
        path("", include(f"{_app}.global_urls"))
        for _app in PILLAR_APPS
        if apps.is_installed(_app) and find_spec(f"{_app}.global_urls")
    ),
    path("", views.landing, name="home"),
    path("<slug:tenant_slug>/", include(tenant_patterns)),
]
