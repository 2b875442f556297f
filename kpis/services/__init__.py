"""Every write of the KPI pillar: recomputes (full, incremental), the queue of
dirty periods, goal progress, KPI settings and custom KPIs.

Services take the tenant first and keyword-only arguments after it, and run
inside the tenant's context (docs/architecture.md, "Services, selectors, tasks").
"""

from kpis.services.goal_progress import (
    GOALS_SQL,
    goals_progress_update,
)
from kpis.services.kpi_settings import (
    custom_kpi_delete,
    custom_kpi_save,
    kpi_setting_delete,
    kpi_setting_save,
)
from kpis.services.queue import (
    DIRTY_TASK,
    FULL_TASK,
    MARK_ALL_SQL,
    MARK_DATES_SQL,
    MARK_IDS_SQL,
    QUEUED_KEY,
    debounce_seconds,
    periods_mark_dirty,
    recompute_enqueue,
)
from kpis.services.recompute import (
    LIVE_SQL,
    RUN_FULL,
    RUN_INCREMENTAL,
    kpi_recompute,
    kpi_recompute_dirty,
    kpi_recompute_full,
    kpi_recompute_request,
    periods_live,
)

__all__ = [
    "DIRTY_TASK",
    "FULL_TASK",
    "GOALS_SQL",
    "LIVE_SQL",
    "MARK_ALL_SQL",
    "MARK_DATES_SQL",
    "MARK_IDS_SQL",
    "QUEUED_KEY",
    "RUN_FULL",
    "RUN_INCREMENTAL",
    "custom_kpi_delete",
    "custom_kpi_save",
    "debounce_seconds",
    "goals_progress_update",
    "kpi_recompute",
    "kpi_recompute_dirty",
    "kpi_recompute_full",
    "kpi_recompute_request",
    "kpi_setting_delete",
    "kpi_setting_save",
    "periods_live",
    "periods_mark_dirty",
    "recompute_enqueue",
]
