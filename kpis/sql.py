"""The choice values that the KPI pillar's SQL binds, taken from the models'
choices: no statement spells out a status, role, kind or level, so a renamed
choice changes every statement with it (and ``tests/kpis/test_sql_choices.py``
fails on a statement that spells one out again). Pass ``CHOICES`` with a
statement's parameters and write ``%(status_won)s`` where the value goes.
"""

from __future__ import annotations

from typing import Final

from goals.models import GoalLevel, Measure, Metric
from kpis.models import SubjectKind
from pipeline.models import ActivityKind, DealStatus
from spm.models import PeriodKind
from spm.roles import Role

CHOICES: Final[dict[str, str]] = {
    "status_open": DealStatus.OPEN,
    "status_won": DealStatus.WON,
    "status_lost": DealStatus.LOST,
    "role_rep": Role.REP,
    "kind_member": SubjectKind.MEMBER,
    "kind_team": SubjectKind.TEAM,
    "kind_tenant": SubjectKind.TENANT,
    "period_month": PeriodKind.MONTH,
    "period_quarter": PeriodKind.QUARTER,
    "period_year": PeriodKind.YEAR,
    "activity_call": ActivityKind.CALL,
    "activity_email": ActivityKind.EMAIL,
    "activity_meeting": ActivityKind.MEETING,
    "activity_demo": ActivityKind.DEMO,
    "measure_bookings": Measure.BOOKINGS,
    "level_member": GoalLevel.MEMBER,
    "level_team": GoalLevel.TEAM,
    "metric_manual": Metric.MANUAL,
}
