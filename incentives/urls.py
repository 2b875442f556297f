"""Pages of the incentives pillar, mounted at /<tenant_slug>/incentives/."""

from django.urls import path

from incentives.views import plans, runs, statements

app_name = "incentives"

urlpatterns = [
    path("", statements.IncentivesHomeView.as_view(), name="home"),
    path("statements/", statements.StatementListView.as_view(), name="statement-list"),
    path("statements/<int:pk>/", statements.StatementDetailView.as_view(), name="statement-detail"),
    path("plans/", plans.PlanListView.as_view(), name="plan-list"),
    path("plans/new/", plans.PlanCreateView.as_view(), name="plan-new"),
    path("plans/import/", plans.DocumentImportView.as_view(), name="plan-import"),
    path("plans/mine/", plans.MyPlanView.as_view(), name="my-plan"),
    path("plans/<int:pk>/", plans.PlanDetailView.as_view(), name="plan-detail"),
    path("versions/<int:pk>/", plans.VersionDetailView.as_view(), name="version-detail"),
    path("versions/<int:pk>/component/", plans.ComponentEditView.as_view(), name="component-edit"),
    path("versions/<int:pk>/what-if/", plans.WhatIfView.as_view(), name="what-if"),
    path("versions/<int:pk>/document/", plans.DocumentEditView.as_view(), name="document-edit"),
    path("versions/<int:pk>/export/", plans.VersionExportView.as_view(), name="version-export"),
    path("versions/<int:pk>/copy/", plans.VersionCopyView.as_view(), name="version-copy"),
    path("assignments/", runs.AssignmentListView.as_view(), name="assignment-list"),
    path("assignments/new/", runs.AssignmentCreateView.as_view(), name="assignment-new"),
    path("runs/", runs.RunListView.as_view(), name="run-list"),
    path("runs/<int:pk>/", runs.RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/status/", runs.RunStatusView.as_view(), name="run-status"),
    path("runs/<int:pk>/publish/", runs.RunPublishView.as_view(), name="run-publish"),
    path("adjustments/", runs.AdjustmentListView.as_view(), name="adjustment-list"),
]
