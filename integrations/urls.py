from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.ApiTokenListView.as_view(), name="token-list"),
    path("tokens/<int:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="token-revoke"),
]
