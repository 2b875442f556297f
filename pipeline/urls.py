"""Pages of the pipeline pillar, mounted at /<tenant_slug>/pipeline/."""

from django.urls import path

from pipeline import views

app_name = "pipeline"

urlpatterns = [
    path("", views.BoardView.as_view(), name="board"),
    path("deals/", views.DealListView.as_view(), name="deal-list"),
    path("deals/export.csv", views.DealExportView.as_view(), name="deal-export"),
    path("deals/new/", views.DealCreateView.as_view(), name="deal-create"),
    path("deals/<int:pk>/", views.DealDetailView.as_view(), name="deal-detail"),
    path("deals/<int:pk>/move/", views.DealMoveView.as_view(), name="deal-move"),
    path("deals/<int:pk>/activities/", views.DealActivityView.as_view(), name="deal-activity"),
    path("funnel/", views.FunnelView.as_view(), name="funnel"),
    path("leads/", views.LeadListView.as_view(), name="lead-list"),
    path("leads/export.csv", views.LeadExportView.as_view(), name="lead-export"),
    path("leads/<int:pk>/", views.LeadDetailView.as_view(), name="lead-detail"),
    path("accounts/", views.AccountListView.as_view(), name="account-list"),
    path("accounts/<int:pk>/", views.AccountDetailView.as_view(), name="account-detail"),
    path("stages/", views.StageSettingsView.as_view(), name="stages"),
    path("pipelines/<int:pk>/stages/", views.StageAddView.as_view(), name="stage-add"),
    path("stages/<int:pk>/", views.StageEditView.as_view(), name="stage-edit"),
    path("stages/exchange-rates/", views.ExchangeRateListView.as_view(), name="exchange-rates"),
    path(
        "stages/exchange-rates/<int:pk>/",
        views.ExchangeRateEditView.as_view(),
        name="exchange-rate-edit",
    ),
    path("import/", views.ImportView.as_view(), name="import"),
    path("import/<int:pk>/", views.ImportDetailView.as_view(), name="import-detail"),
    path("import/<int:pk>/status/", views.ImportStatusView.as_view(), name="import-status"),
]
