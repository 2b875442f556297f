"""Pages of the integration platform, mounted at /<tenant_slug>/integrations/."""

from django.urls import path

from integrations import sso, views
from integrations.audit.views import AuditTrailView

app_name = "integrations"

urlpatterns = [
    path("", views.ApiTokenListView.as_view(), name="token-list"),
    path("tokens/<int:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="token-revoke"),
    path("sso/", views.SsoSettingsView.as_view(), name="sso"),
    path("sso/login/", sso.SsoLoginView.as_view(), name="sso-login"),
    path("webhooks/", views.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="webhook-detail"),
    path("audit/", AuditTrailView.as_view(), name="audit"),
]
