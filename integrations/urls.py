"""Pages of the integration platform, mounted at /<tenant_slug>/integrations/."""

from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.ApiTokenListView.as_view(), name="token-list"),
    path("tokens/<int:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="token-revoke"),
    path("webhooks/", views.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="webhook-detail"),
]
