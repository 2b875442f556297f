"""Pages of the incentives pillar, mounted at /<tenant_slug>/incentives/."""

from django.urls import path

from incentives import views_trust
from incentives.views import approvals, modelling, plans, runs, statements

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
    path(
        "versions/<int:pk>/component/delete/",
        plans.ComponentDeleteView.as_view(),
        name="component-delete",
    ),
    path("versions/<int:pk>/model/", modelling.PlanModelView.as_view(), name="plan-model"),
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

urlpatterns += [
    path(
        "statements/<int:pk>/acknowledge/",
        views_trust.StatementAcknowledgeView.as_view(),
        name="statement-acknowledge",
    ),
    path(
        "statements/<int:pk>/dispute/",
        views_trust.StatementDisputeView.as_view(),
        name="statement-dispute",
    ),
    path("disputes/", views_trust.DisputeListView.as_view(), name="dispute-list"),
    path("disputes/<int:pk>/", views_trust.DisputeDetailView.as_view(), name="dispute-detail"),
    path(
        "disputes/<int:pk>/attachment/",
        views_trust.DisputeAttachmentView.as_view(),
        name="dispute-attachment",
    ),
    path("estimator/", views_trust.EstimatorView.as_view(), name="estimator"),
    path("payroll/", views_trust.PayrollView.as_view(), name="payroll"),
    path(
        "payroll/<int:pk>/download/",
        views_trust.PayrollDownloadView.as_view(),
        name="payroll-download",
    ),
    path("notifications/", views_trust.NotificationListView.as_view(), name="notifications"),
    path("approvals/", approvals.ApprovalListView.as_view(), name="approval-list"),
    path(
        "approvals/<int:pk>/decide/",
        approvals.ApprovalDecideView.as_view(),
        name="approval-decide",
    ),
    path(
        "runs/<int:pk>/request-approval/",
        approvals.RunApprovalRequestView.as_view(),
        name="run-request-approval",
    ),
    path(
        "versions/<int:pk>/request-activation/",
        approvals.VersionActivationRequestView.as_view(),
        name="version-request-activation",
    ),
    path(
        "assignments/<int:pk>/accept/",
        approvals.PlanAcceptView.as_view(),
        name="plan-accept",
    ),
]
