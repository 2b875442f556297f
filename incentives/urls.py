"""Pages of the incentives pillar, mounted at /<tenant_slug>/incentives/."""

from django.urls import path

from incentives import views

app_name = "incentives"

urlpatterns = [
    path("statements/", views.StatementListView.as_view(), name="statement-list"),
    path("statements/<int:pk>/", views.StatementDetailView.as_view(), name="statement-detail"),
]
