"""Pages of the KPI pillar: the rep dashboard, the team (manager) dashboard,
the tenant overview, leaderboards, recompute runs and KPI settings. Thin:
selectors read snapshots, charts build figures, services write.

Who sees what: a rep opens their own dashboard and every leaderboard; a
manager the dashboards of their subtree's people and teams (and their own); admins and
finance everything, including the tenant overview. Anything else is a 404.
"""

from kpis.views.boards import LeaderboardView
from kpis.views.dashboards import DashboardView, OverviewView, RepDashboardView, TeamDashboardView
from kpis.views.forecast import (
    DealCategoryView,
    ForecastAccuracyView,
    ForecastCallView,
    ForecastGridView,
    ForecastMemberView,
)
from kpis.views.runs import RunsView
from kpis.views.settings import (
    CustomKpiDeleteView,
    SettingDeleteView,
    SettingEditView,
    SettingsView,
)

__all__ = [
    "DashboardView",
    "RepDashboardView",
    "TeamDashboardView",
    "OverviewView",
    "LeaderboardView",
    "RunsView",
    "ForecastGridView",
    "ForecastMemberView",
    "DealCategoryView",
    "ForecastCallView",
    "ForecastAccuracyView",
    "SettingsView",
    "SettingEditView",
    "SettingDeleteView",
    "CustomKpiDeleteView",
]
