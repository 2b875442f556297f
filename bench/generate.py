# ruff: noqa: E501 -- long lines are SQL text
"""Scale data generator for the KPI benchmark: tenants, 3-level team trees,
reps, deals over 24 months with stage history and splits, quotas, activities.

Tenants, teams and periods go through the services (few rows); everything
large is generated inside PostgreSQL with ``generate_series`` (INSERT ...
SELECT), never through the ORM. Runs as the database owner (superuser), so
RLS does not slow the load.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection, transaction

from spm import services
from spm.models import Tenant
from spm.tenancy.context import tenant_context

START = dt.date(2025, 1, 1)
DAYS = 730  # 24 months


def _sql(sql: str, params: list | dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def make_tenant(index: int, *, reps: int, deals: int, activities_per_rep_month: int) -> Tenant:
    """One tenant: company -> 5 regions -> teams of 10 reps; deals, splits,
    stage history, monthly quotas and activities."""
    tenant = services.tenant_create(
        name=f"Bench {index:02d}", slug=f"bench-{index:02d}", today=dt.date(2026, 6, 30)
    )
    with tenant_context(tenant):
        root = services.team_create(tenant, name="Company")
        leaves = []
        teams_needed = max(1, reps // 10)
        regions = [services.team_create(tenant, name=f"Region {r}", parent=root) for r in range(5)]
        for n in range(teams_needed):
            leaves.append(services.team_create(tenant, name=f"Team {n:03d}", parent=regions[n % 5]))
        leaf_ids = [t.pk for t in leaves]
        # Users and reps, ten a team.
        _sql(
            """
            WITH u AS (
              INSERT INTO spm_user (password, is_superuser, username, first_name, last_name,
                                    email, is_staff, is_active, date_joined)
              SELECT '!', false, 'b' || %(t)s || '-' || g, 'Rep', 'No ' || g,
                     'b' || %(t)s || '-' || g || '@bench.test', false, true, now()
              FROM generate_series(1, %(n)s) g RETURNING id
            )
            INSERT INTO spm_membership (tenant_id, user_id, role, title, team_id, start_date,
                                        is_active, employee_id)
            SELECT %(t)s, u.id, 'rep', 'AE', (%(leaves)s::bigint[])[1 + (row_number() OVER ()
                   - 1) / 10 %% %(nleaves)s], DATE '2024-01-01', true, ''
            FROM u
            """,
            {"t": tenant.pk, "n": reps, "leaves": leaf_ids, "nleaves": len(leaf_ids)},
        )
    return tenant


DEALS_SQL = """
WITH reps AS (SELECT array_agg(id ORDER BY id) AS ids FROM spm_membership
              WHERE tenant_id = %(t)s AND role = 'rep'),
st AS (
  SELECT s.pipeline_id,
         min(s.id) FILTER (WHERE s.is_won) AS won, max(s.id) FILTER (WHERE s.is_lost) AS lost,
         array_agg(s.id ORDER BY s.position) FILTER (WHERE NOT s.is_won AND NOT s.is_lost
                                                     AND s.position < 5) AS open_ids,
         array_agg(s.probability ORDER BY s.position) FILTER (WHERE NOT s.is_won
                                                     AND NOT s.is_lost AND s.position < 5) AS probs
  FROM pipeline_stage s JOIN pipeline_pipeline p ON p.id = s.pipeline_id
  WHERE s.tenant_id = %(t)s GROUP BY s.pipeline_id, p.position ORDER BY p.position LIMIT 1
),
g AS (
  SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4 FROM generate_series(1, %(n)s) g
)
INSERT INTO pipeline_deal (tenant_id, name, owner_id, amount, currency, exchange_rate, base_amount,
  pipeline_id, stage_id, probability, forecast_category, expected_close_date, status, close_date,
  lost_reason, deal_type, product_line, source, external_id, custom_splits, created_on,
  created_at, updated_at)
SELECT %(t)s, 'Deal ' || g.g, reps.ids[1 + floor(g.r1 * array_length(reps.ids, 1))::int],
       a.amount, 'USD', 1, a.amount, st.pipeline_id,
       CASE a.status WHEN 'won' THEN st.won WHEN 'lost' THEN st.lost
            ELSE st.open_ids[1 + floor(g.r3 * 4)::int] END,
       CASE a.status WHEN 'won' THEN 100 WHEN 'lost' THEN 0
            ELSE st.probs[1 + floor(g.r3 * 4)::int] END,
       'pipeline', a.created + a.cycle, a.status,
       CASE WHEN a.status = 'open' THEN NULL ELSE a.created + a.cycle END,
       '', 'new_business', '', '', 'B' || g.g, false, a.created, now(), now()
FROM g CROSS JOIN reps CROSS JOIN st
CROSS JOIN LATERAL (
  SELECT round((2000 + g.r2 * 98000)::numeric, 2) AS amount,
         CASE WHEN g.r4 < 0.45 THEN 'won' WHEN g.r4 < 0.75 THEN 'lost' ELSE 'open' END AS status,
         DATE '2025-01-01' + floor(g.r3 * 700)::int AS created,
         10 + floor(g.r2 * 110)::int AS cycle
) a
"""

SPLITS_SQL = """
INSERT INTO pipeline_dealsplit (tenant_id, deal_id, member_id, percent, credited_amount, position)
SELECT d.tenant_id, d.id, d.owner_id, CASE WHEN d.id %% 8 = 0 THEN 60 ELSE 100 END,
       CASE WHEN d.id %% 8 = 0 THEN round(d.base_amount * 0.6, 2) ELSE d.base_amount END, 0
FROM pipeline_deal d WHERE d.tenant_id = %(t)s
UNION ALL
SELECT d.tenant_id, d.id, m.id, 40, d.base_amount - round(d.base_amount * 0.6, 2), 1
FROM pipeline_deal d
JOIN LATERAL (SELECT id FROM spm_membership WHERE tenant_id = d.tenant_id AND role = 'rep'
              AND id <> d.owner_id AND id > d.owner_id ORDER BY id LIMIT 1) m ON true
WHERE d.tenant_id = %(t)s AND d.id %% 8 = 0
"""

HISTORY_SQL = """
INSERT INTO pipeline_stagechange (tenant_id, deal_id, from_stage_id, to_stage_id, changed_at, source)
SELECT d.tenant_id, d.id, NULL, f.id, d.created_on::timestamptz, 'import'
FROM pipeline_deal d
JOIN LATERAL (SELECT id FROM pipeline_stage WHERE pipeline_id = d.pipeline_id
              AND NOT is_won AND NOT is_lost ORDER BY position LIMIT 1) f ON true
WHERE d.tenant_id = %(t)s
UNION ALL
SELECT d.tenant_id, d.id, f.id, d.stage_id, (d.created_on + (d.close_date - d.created_on) / 2)::timestamptz, 'import'
FROM pipeline_deal d
JOIN LATERAL (SELECT id FROM pipeline_stage WHERE pipeline_id = d.pipeline_id
              AND NOT is_won AND NOT is_lost ORDER BY position LIMIT 1) f ON true
WHERE d.tenant_id = %(t)s AND d.status <> 'open'
"""

QUOTAS_SQL = """
INSERT INTO goals_quota (tenant_id, period_id, membership_id, team_id, measure, amount, source,
                         updated_at)
SELECT m.tenant_id, p.id, m.id, NULL, 'bookings', 60000, 'imported', now()
FROM spm_membership m JOIN spm_fiscalperiod p ON p.tenant_id = m.tenant_id AND p.kind = 'month'
 AND p.start >= DATE '2025-01-01' AND p.start < DATE '2027-01-01'
WHERE m.tenant_id = %(t)s AND m.role = 'rep'
"""

ACTIVITIES_SQL = """
INSERT INTO pipeline_activity (tenant_id, kind, subject, occurred_on, member_id, outcome, account_id,
                               created_at, updated_at)
SELECT m.tenant_id, (ARRAY['call','email','meeting','demo'])[1 + (g %% 4)], '',
       DATE '2025-01-01' + ((m.id * 7 + g * 13) %% 730)::int, m.id, '', a.id, now(), now()
FROM spm_membership m CROSS JOIN generate_series(1, %(n)s) g
CROSS JOIN LATERAL (SELECT id FROM pipeline_account WHERE tenant_id = m.tenant_id LIMIT 1) a
WHERE m.tenant_id = %(t)s AND m.role = 'rep'
"""

ACCOUNTS_SQL = """
INSERT INTO pipeline_account (tenant_id, name, segment, industry, owner_id, customer_since,
                              churned_on, created_at, updated_at)
SELECT m.tenant_id, 'Account ' || m.id || '-' || g, '', '', m.id,
       DATE '2024-06-01' + (g * 37 %% 500)::int,
       CASE WHEN g %% 5 = 0 THEN DATE '2024-06-01' + (g * 37 %% 500)::int + 200 END, now(), now()
FROM spm_membership m CROSS JOIN generate_series(1, 4) g
WHERE m.tenant_id = %(t)s AND m.role = 'rep'
"""


def generate(
    *, tenants: int, reps: int, deals: int, activities_per_rep_month: int
) -> dict[str, float]:
    """Build the whole data set; returns seconds per step."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    made = []
    with transaction.atomic():
        for i in range(tenants):
            made.append(
                make_tenant(
                    i,
                    reps=reps // tenants,
                    deals=deals // tenants,
                    activities_per_rep_month=activities_per_rep_month,
                )
            )
    timings["tenants_teams_reps"] = time.perf_counter() - started
    for name, sql, n in (
        ("deals", DEALS_SQL, deals // tenants),
        ("splits", SPLITS_SQL, 0),
        ("stage_history", HISTORY_SQL, 0),
        ("quotas", QUOTAS_SQL, 0),
        ("accounts", ACCOUNTS_SQL, 0),
        ("activities", ACTIVITIES_SQL, activities_per_rep_month * 24),
    ):
        step = time.perf_counter()
        for tenant in made:
            with transaction.atomic():
                _sql(sql, {"t": tenant.pk, "n": n})
        timings[name] = time.perf_counter() - step
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return timings
