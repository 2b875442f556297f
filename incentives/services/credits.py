"""Credits derived from pipeline's splits, in one SQL statement per range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection

from pipeline.models import DealStatus
from spm.models import Tenant

# The credits a range of close dates should hold: each split of a won deal
# (direct when the owner has 100% without custom splits, split otherwise),
# and one overlay per deal for each manager of a team above a recipient's
# team (the recipient's own team included), crediting the splits of that
# manager's subtree once even when several partners report to them
# (docs/formulas.md, "Crediting"). A manager is not overlaid on their own
# split.
_FRESH = """
WITH splits AS (
    SELECT d.id AS deal_id, s.member_id, s.credited_amount, d.close_date, d.custom_splits
    FROM pipeline_deal d
    JOIN pipeline_dealsplit s ON s.tenant_id = d.tenant_id AND s.deal_id = d.id
    WHERE d.tenant_id = %(tenant)s AND d.status = %(won)s
      AND d.close_date BETWEEN %(start)s AND %(end)s
      AND (%(deals)s::bigint[] IS NULL OR d.id = ANY(%(deals)s::bigint[]))
),
fresh AS (
    SELECT deal_id, member_id AS recipient_id,
           CASE WHEN custom_splits THEN 'split' ELSE 'direct' END AS role,
           credited_amount AS amount, close_date AS credit_date
    FROM splits
    UNION ALL
    SELECT deal_id, manager_id, 'overlay', sum(credited_amount), min(close_date)
    FROM (
        -- a manager of several teams above a recipient counts the split once
        SELECT DISTINCT s.deal_id, s.member_id, s.credited_amount, s.close_date, t.manager_id
        FROM splits s
        JOIN spm_membership m ON m.tenant_id = %(tenant)s AND m.id = s.member_id
        JOIN spm_team mt ON mt.tenant_id = %(tenant)s AND mt.id = m.team_id
        JOIN spm_team t ON t.tenant_id = %(tenant)s
                       AND mt.path LIKE t.path || '%%'
                       AND t.manager_id IS NOT NULL AND t.manager_id <> s.member_id
    ) managed
    GROUP BY deal_id, manager_id
)
"""

# One statement: ``fresh`` is computed once for both changes. Credits of the
# range (and deals) with no fresh row go: their deal was re-opened, lost,
# moved out of the range, or lost a split partner. Fresh rows are inserted or
# update the row they replace (a deal moved inside the range); unchanged ones
# are left alone. The two sets of rows are disjoint.
_REFRESH = (
    _FRESH  # noqa: S608 (constant SQL; values are parameters)
    + """,
gone AS (
    DELETE FROM incentives_credit c
    WHERE c.tenant_id = %(tenant)s AND c.credit_date BETWEEN %(start)s AND %(end)s
      AND (%(deals)s::bigint[] IS NULL OR c.deal_id = ANY(%(deals)s::bigint[]))
      AND NOT EXISTS (
          SELECT 1 FROM fresh f
          WHERE f.deal_id = c.deal_id AND f.recipient_id = c.recipient_id AND f.role = c.role
      )
    RETURNING 1
),
written AS (
    INSERT INTO incentives_credit (tenant_id, deal_id, recipient_id, role, amount, credit_date)
    SELECT %(tenant)s, deal_id, recipient_id, role, amount, credit_date FROM fresh
    ON CONFLICT (tenant_id, deal_id, recipient_id, role) DO UPDATE
    SET amount = EXCLUDED.amount, credit_date = EXCLUDED.credit_date
    WHERE (incentives_credit.amount, incentives_credit.credit_date)
          IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.credit_date)
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM written)
"""
)


def credits_refresh(
    tenant: Tenant, *, start: dt.date, end: dt.date, deal_ids: Sequence[int] | None = None
) -> int:
    """Bring the credits of deals closed from ``start`` to ``end`` (only
    ``deal_ids`` when given) in line with pipeline's won deals and splits.
    Returns the rows written (inserted, changed or deleted): 0 when nothing
    changed. Runs inside the tenant's context (RLS)."""
    params: dict[str, Any] = {
        "tenant": tenant.pk,
        "won": DealStatus.WON,
        "start": start,
        "end": end,
        "deals": None if deal_ids is None else list(deal_ids),
    }
    with connection.cursor() as cursor:
        cursor.execute(_REFRESH, params)
        return int(cursor.fetchone()[0])
