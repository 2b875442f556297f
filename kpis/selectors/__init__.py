"""Reads of the KPI pillar: snapshots for dashboards, leaderboards and reports,
who may see whose figures, and red/amber/green from the tenant's settings.

Every function reads ``kpis_kpivalue`` snapshots (never deals) in a fixed
number of queries whatever the number of people. Call inside the tenant's context.
"""

from kpis.selectors.boards import (
    BOARD_SQL,
    BoardPage,
    BoardRow,
    leaderboard,
    leaderboard_page,
    leaderboard_position,
)
from kpis.selectors.scope import (
    DEFAULT_TABLE_KPIS,
    LEADERBOARD_KPIS,
    members_visible,
    period_selected,
    periods_for_picker,
    teams_visible,
)
from kpis.selectors.settings import (
    Setting,
    builtin_choices,
    custom_labels,
    label_of,
    rag,
    settings_for,
    table_kpis,
)
from kpis.selectors.snapshots import (
    Cell,
    SeriesPoint,
    StageRow,
    computed_at,
    kpi_runs,
    member_goals,
    months_of_year,
    open_stages,
    series,
    stage_rows,
    team_goals,
    values_of,
)

__all__ = [
    "BOARD_SQL",
    "BoardPage",
    "BoardRow",
    "Cell",
    "DEFAULT_TABLE_KPIS",
    "LEADERBOARD_KPIS",
    "SeriesPoint",
    "Setting",
    "StageRow",
    "builtin_choices",
    "computed_at",
    "custom_labels",
    "kpi_runs",
    "label_of",
    "leaderboard",
    "leaderboard_page",
    "leaderboard_position",
    "member_goals",
    "members_visible",
    "months_of_year",
    "open_stages",
    "period_selected",
    "periods_for_picker",
    "rag",
    "series",
    "settings_for",
    "stage_rows",
    "table_kpis",
    "team_goals",
    "teams_visible",
    "values_of",
]
