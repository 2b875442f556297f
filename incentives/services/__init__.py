"""Every write of the incentives pillar (plans, assignments, plan acceptance,
credits, runs, approvals, acknowledgements, disputes, notifications, payroll)."""

from incentives.services.acknowledgements import (
    WindowClosed,
    acknowledgements_auto_accept,
    acknowledgements_open,
    statement_acknowledge,
)
from incentives.services.approvals import (
    approval_decide,
    approval_deciders,
    approval_may_decide,
    approval_request,
)
from incentives.services.credits import credits_refresh
from incentives.services.disputes import (
    dispute_comment,
    dispute_open,
    dispute_reject,
    dispute_resolve,
)
from incentives.services.notifications import (
    notification_preferences,
    notification_preferences_set,
    notifications_email,
    notifications_read,
    notify,
)
from incentives.services.payroll import (
    payroll_csv,
    payroll_export_create,
    payroll_xlsx,
)
from incentives.services.plans import (
    assignment_create,
    assignment_create_for_team,
    known_kpis,
    plan_accept,
    plan_component_delete,
    plan_version_create,
    plan_version_update,
)
from incentives.services.runs import (
    adjustment_create,
    calc_run_execute,
    calc_run_previews_refresh,
    calc_run_publish,
    calc_run_start,
    statement_preview,
)

__all__ = [
    "WindowClosed",
    "acknowledgements_auto_accept",
    "acknowledgements_open",
    "adjustment_create",
    "approval_decide",
    "approval_deciders",
    "approval_may_decide",
    "approval_request",
    "assignment_create",
    "assignment_create_for_team",
    "calc_run_execute",
    "calc_run_previews_refresh",
    "calc_run_publish",
    "calc_run_start",
    "statement_preview",
    "credits_refresh",
    "dispute_comment",
    "dispute_open",
    "dispute_reject",
    "dispute_resolve",
    "known_kpis",
    "plan_component_delete",
    "notification_preferences",
    "notification_preferences_set",
    "notifications_email",
    "notifications_read",
    "notify",
    "payroll_csv",
    "payroll_export_create",
    "payroll_xlsx",
    "plan_accept",
    "plan_version_create",
    "plan_version_update",
    "statement_acknowledge",
]
