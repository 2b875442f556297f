"""Pages of the KPI pillar, mounted at /<tenant_slug>/kpis/."""

from django.urls import path

from kpis import views

app_name = "kpis"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("reps/<int:pk>/", views.RepDashboardView.as_view(), name="rep"),
    path("teams/<int:pk>/", views.TeamDashboardView.as_view(), name="team"),
    path("overview/", views.OverviewView.as_view(), name="overview"),
    path("leaderboards/", views.LeaderboardView.as_view(), name="leaderboards"),
    path("forecast/", views.ForecastGridView.as_view(), name="forecast"),
    path("forecast/members/<int:pk>/", views.ForecastMemberView.as_view(), name="forecast-member"),
    path(
        "forecast/deals/<int:pk>/category/",
        views.DealCategoryView.as_view(),
        name="forecast-category",
    ),
    path("forecast/calls/", views.ForecastCallView.as_view(), name="forecast-call"),
    path("forecast/accuracy/", views.ForecastAccuracyView.as_view(), name="forecast-accuracy"),
    path("runs/", views.RunsView.as_view(), name="runs"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("settings/<int:pk>/edit/", views.SettingEditView.as_view(), name="setting-edit"),
    path("settings/<int:pk>/delete/", views.SettingDeleteView.as_view(), name="setting-delete"),
    path("custom/<int:pk>/delete/", views.CustomKpiDeleteView.as_view(), name="custom-delete"),
]
