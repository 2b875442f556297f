"""Pages of the goals pillar, mounted at /<tenant_slug>/goals/."""

from django.urls import path

from goals import views

app_name = "goals"

urlpatterns = [
    path("", views.GoalsHomeView.as_view(), name="home"),
    path("quotas/", views.QuotaGridView.as_view(), name="quota-grid"),
    path("quotas/cell/", views.QuotaCellView.as_view(), name="quota-cell"),
    path("quotas/allocate/", views.QuotaAllocateView.as_view(), name="quota-allocate"),
    path("quotas/spread/", views.QuotaSpreadView.as_view(), name="quota-spread"),
    path("quotas/export/", views.QuotaExportView.as_view(), name="quota-export"),
    path("quotas/import/", views.QuotaImportView.as_view(), name="quota-import"),
    path("quotas/<int:pk>/history/", views.QuotaHistoryView.as_view(), name="quota-history"),
    path("smart/", views.GoalListView.as_view(), name="goal-list"),
    path("smart/new/", views.GoalFormView.as_view(), name="goal-add"),
    path("smart/<int:pk>/", views.GoalDetailView.as_view(), name="goal-detail"),
    path("smart/<int:pk>/edit/", views.GoalFormView.as_view(), name="goal-edit"),
    path("smart/<int:pk>/action/", views.GoalActionView.as_view(), name="goal-action"),
    path("smart/<int:pk>/checkin/", views.GoalCheckInView.as_view(), name="goal-checkin"),
    path("alignment/", views.AlignmentView.as_view(), name="alignment"),
    path("objectives/", views.ObjectiveListView.as_view(), name="objective-list"),
    path("objectives/set/", views.ObjectiveSetView.as_view(), name="objective-set"),
]
