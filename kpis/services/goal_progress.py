"""Goals measured by a KPI get their progress from the snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import connection

from goals.models import PERCENT_METRICS
from goals.services import goal_progress_record
from kpis.sql import CHOICES
from spm.models import Tenant
from spm.money import QUANTITY_KWARGS, round_half_up

# Goals measured by a KPI ---------------------------------------------------------------

GOALS_SQL = """
SELECT g.id, g.metric, v.value
FROM goals_goal g
JOIN LATERAL (
    -- (the tenant as a constant, not g.tenant_id: Citus plans this LATERAL
    -- only in that form)
    SELECT p.id FROM spm_fiscalperiod p
    WHERE p.tenant_id = %(t)s AND p.start <= g.start_date AND p."end" >= g.due_date
    ORDER BY p."end" - p.start, p.start LIMIT 1
) gp ON true
LEFT JOIN kpis_kpivalue v
  ON v.tenant_id = g.tenant_id AND v.period_id = gp.id AND v.kpi = g.metric
 AND v.subject_kind = CASE g.level WHEN %(level_member)s THEN %(kind_member)s
                                   WHEN %(level_team)s THEN %(kind_team)s
                                   ELSE %(kind_tenant)s END
 AND v.subject_id = COALESCE(g.owner_membership_id, g.owner_team_id, 0)
WHERE g.tenant_id = %(t)s AND g.metric <> %(metric_manual)s AND gp.id = ANY(%(pids)s)
"""

# The places of the goals' value columns.
QUANTITY_PLACES = Decimal(1).scaleb(-QUANTITY_KWARGS["decimal_places"])


def goals_progress_update(tenant: Tenant, *, period_ids: Sequence[int]) -> int:
    """Give every KPI-metric goal whose span falls in ``period_ids`` its current
    value: the KPI of its owner (member, team or company) in the shortest
    period covering the goal's start and due dates. Percent metrics go to the
    goals app as percentages (55.56 for an attainment of 0.5556), the way its
    targets are entered. One query, then ``goals.services.goal_progress_record``."""
    with connection.cursor() as cursor:
        cursor.execute(GOALS_SQL, {"t": tenant.pk, "pids": list(period_ids), **CHOICES})
        rows = cursor.fetchall()
    values: dict[int, Decimal] = {}
    for goal_id, metric, value in rows:
        if value is not None and metric in PERCENT_METRICS:
            value = round_half_up(value * 100, QUANTITY_PLACES)
        elif value is not None:
            value = round_half_up(value, QUANTITY_PLACES)
        values[goal_id] = value
    if not values:
        return 0
    return goal_progress_record(tenant, values=values)
