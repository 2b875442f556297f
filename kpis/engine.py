"""The KPI engine: every built-in KPI of a tenant's periods, for every member,
every team (rolled up the team tree) and the tenant, in a handful of SQL
statements, stored in ``kpis_kpivalue``.

Contract: ``compute(tenant, period_ids=[...])`` runs inside the tenant's
context (RLS) and inside one transaction; it returns the number of values
computed. No Python loop over deals or people and no query per rep: each
statement is set-based over the whole tenant and all the given periods.

How a run goes (timings per step in ``last_seconds``):
- small run tables (periods, month -> period map, members, member -> subject
  map, subjects) are built once and analysed, so the planner sizes its joins;
- figures are aggregated per calendar month first and the months are summed
  into every period of the run (sums and counts add up; averages keep sum and
  count; rounding happens once, on the period's total), so a year costs one
  pass over its deals, not one per period kind; distinct-deal counts (stage
  conversion) map months to periods by equality before counting;
- every statement writes into the temporary ``kpis_run``; one hash full join
  against the stored values of the run's periods finds new rows, changed
  values and rows the run no longer produces (a subject that lost its last
  deal); only those are inserted, updated or deleted (``last_written``), so a
  recompute is idempotent and exact, and an unchanged period costs no write.

Rules (FORMULAS.md sections 1-3):
- credits are the stored split amounts (``pipeline_dealsplit.credited_amount``);
  a team counts each deal once (its members' credits summed per deal, counts
  over distinct deals); the tenant counts every deal once;
- a member's quota is their bookings quota of the period prorated to their
  active days (half-up to cents); without one, the quotas of the shorter
  periods inside it add up (months into quarters, quarters into the year);
- a team's quota is its top-down quota, else the sum of its whole subtree's
  reps' quotas (managers' own quotas are overlays and are not added); the
  tenant's is the sum of its root teams' and team-less reps' quotas;
- open deals count by expected close date, won and lost deals by close date;
  the weighted and open pipeline is today's state of the open deals.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.db import connection

from kpis.formula import compile_sql
from kpis.models import CustomKpi
from spm.models import Tenant

# Members, the subjects each member's figures roll up into (themselves, every
# team above them, the tenant), and the periods of the run: built once per run
# into small temporary tables (analysed, so the planner knows their sizes and
# joins them by hash), which every statement reads through the CTEs of _BASE.
_SETUP = """
DROP TABLE IF EXISTS pg_temp.kpis_p, pg_temp.kpis_mp, pg_temp.kpis_m, pg_temp.kpis_teams,
    pg_temp.kpis_msub, pg_temp.kpis_subj;
CREATE TEMP TABLE kpis_p ON COMMIT DROP AS
    SELECT id, kind, start, "end", ("end" - start + 1) AS days
    FROM spm_fiscalperiod WHERE tenant_id = %(t)s AND id = ANY(%(pids)s);
-- month start -> the run's periods containing that month (periods are whole
-- calendar months): figures are aggregated per month once, then rolled up
CREATE TEMP TABLE kpis_mp ON COMMIT DROP AS
    SELECT gs::date AS ms, p.id AS pid
    FROM kpis_p p CROSS JOIN LATERAL generate_series(p.start, p."end", interval '1 month') gs;
CREATE TEMP TABLE kpis_m ON COMMIT DROP AS
    SELECT id, team_id, role, start_date, end_date
    FROM spm_membership WHERE tenant_id = %(t)s;
CREATE TEMP TABLE kpis_teams ON COMMIT DROP AS
    SELECT id, path, parent_id FROM spm_team WHERE tenant_id = %(t)s;
CREATE TEMP TABLE kpis_msub ON COMMIT DROP AS
    SELECT m.id AS member_id, 'member'::text AS kind, m.id AS sid FROM kpis_m m
    UNION ALL
    SELECT m.id, 'team', a.id
    FROM kpis_m m JOIN kpis_teams t ON t.id = m.team_id
    JOIN kpis_teams a ON t.path LIKE a.path || '%%'
    UNION ALL
    SELECT m.id, 'tenant', 0 FROM kpis_m m;
CREATE TEMP TABLE kpis_subj ON COMMIT DROP AS
    SELECT p.id AS pid, 'member'::text AS kind, m.id AS sid
    FROM kpis_p p JOIN kpis_m m
      ON m.start_date <= p."end" AND (m.end_date IS NULL OR m.end_date >= p.start)
    UNION ALL SELECT p.id, 'team', t.id FROM kpis_p p CROSS JOIN kpis_teams t
    UNION ALL SELECT p.id, 'tenant', 0 FROM kpis_p p;
ANALYZE kpis_p, kpis_mp, kpis_m, kpis_teams, kpis_msub, kpis_subj
"""

_BASE = """
p AS NOT MATERIALIZED (SELECT * FROM kpis_p),
mp AS NOT MATERIALIZED (SELECT * FROM kpis_mp),
m AS NOT MATERIALIZED (SELECT * FROM kpis_m),
teams AS NOT MATERIALIZED (SELECT * FROM kpis_teams),
msub AS NOT MATERIALIZED (SELECT * FROM kpis_msub),
subj AS NOT MATERIALIZED (SELECT * FROM kpis_subj)
"""

# A run computes into a temporary table, then writes only what changed: rows
# whose value moved are upserted, rows the run did not produce are deleted
# (anti-join). An unchanged snapshot costs no writes.
_RUN_TABLE = """
DROP TABLE IF EXISTS pg_temp.kpis_run;
CREATE TEMP TABLE kpis_run (
    period_id bigint NOT NULL, subject_kind varchar(8) NOT NULL, subject_id bigint NOT NULL,
    kpi varchar(80) NOT NULL, value numeric
) ON COMMIT DROP
"""

_COLLECT = """
INSERT INTO kpis_run (period_id, subject_kind, subject_id, kpi, value)
SELECT x.pid, x.kind, x.sid, x.kpi, x.value FROM ({select}) x
"""

# One hash full join of the run against the stored values of its periods finds
# what changed: new rows, moved values, rows the run no longer produces.
DIFF_SQL = """
DROP TABLE IF EXISTS pg_temp.kpis_diff;
CREATE TEMP TABLE kpis_diff ON COMMIT DROP AS
SELECT r.period_id, r.subject_kind, r.subject_id, r.kpi, r.value, v.id AS stored_id
FROM kpis_run r
FULL JOIN (
    SELECT id, period_id, subject_kind, subject_id, kpi, value FROM kpis_kpivalue
    WHERE tenant_id = %s AND period_id = ANY(%s)
) v ON v.period_id = r.period_id AND v.subject_kind = r.subject_kind
   AND v.subject_id = r.subject_id AND v.kpi = r.kpi
WHERE v.id IS NULL OR r.kpi IS NULL OR v.value IS DISTINCT FROM r.value::numeric(28, 10)
"""

WRITE_SQL = """
INSERT INTO kpis_kpivalue (tenant_id, period_id, subject_kind, subject_id, kpi, value, computed_at)
SELECT %s, r.period_id, r.subject_kind, r.subject_id, r.kpi, r.value, now()
FROM kpis_diff r WHERE r.kpi IS NOT NULL
ON CONFLICT (tenant_id, period_id, subject_kind, subject_id, kpi)
DO UPDATE SET value = EXCLUDED.value, computed_at = EXCLUDED.computed_at
WHERE kpis_kpivalue.value IS DISTINCT FROM EXCLUDED.value
"""

STALE_SQL = """
DELETE FROM kpis_kpivalue v USING kpis_diff d
WHERE v.tenant_id = %s AND v.id = d.stored_id AND d.kpi IS NULL
"""

CLEAR_SQL = "DELETE FROM kpis_kpivalue WHERE tenant_id = %s AND period_id = ANY(%s)"

DEALS_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + _BASE
    + """,
d AS (
    SELECT d.id, d.status, d.probability, d.fdate - d.created_on AS cycle,
           date_trunc('month', d.fdate)::date AS ms
    FROM (
        SELECT d.*,
               CASE WHEN d.status = 'open' THEN d.expected_close_date ELSE d.close_date END AS fdate
        FROM pipeline_deal d
        WHERE d.tenant_id = %(t)s
          AND ((d.status <> 'open' AND d.close_date BETWEEN %(lo)s::date AND %(hi)s::date)
            OR (d.status = 'open' AND d.expected_close_date BETWEEN %(lo)s::date AND %(hi)s::date))
    ) d
),
ds AS (
    -- one row per (subject, deal): a team counts each deal once
    SELECT s.kind, s.sid, d.id, d.status, d.ms, d.cycle, d.probability,
           SUM(sp.credited_amount) AS credit
    FROM d
    JOIN pipeline_dealsplit sp ON sp.deal_id = d.id AND sp.tenant_id = %(t)s
    JOIN msub s ON s.member_id = sp.member_id
    GROUP BY s.kind, s.sid, d.id, d.status, d.ms, d.cycle, d.probability
),
dm AS (
    -- per month first; sums and counts add up into quarters and years
    SELECT ds.ms, ds.kind, ds.sid,
           SUM(ds.credit) FILTER (WHERE ds.status = 'won') AS bookings,
           COUNT(*) FILTER (WHERE ds.status = 'won') AS won,
           COUNT(*) FILTER (WHERE ds.status = 'lost') AS lost,
           SUM(ds.cycle) FILTER (WHERE ds.status = 'won') AS cycle_sum,
           SUM(ds.credit) FILTER (WHERE ds.status = 'open') AS open_amount,
           COUNT(*) FILTER (WHERE ds.status = 'open') AS open_n,
           SUM(ds.credit * ds.probability / 100) FILTER (WHERE ds.status = 'open') AS weighted
    FROM ds GROUP BY ds.ms, ds.kind, ds.sid
),
dagg AS (
    SELECT mp.pid, dm.kind, dm.sid, SUM(dm.bookings) AS bookings, SUM(dm.won) AS won,
           SUM(dm.lost) AS lost,
           SUM(dm.cycle_sum)::numeric / NULLIF(SUM(dm.won), 0) AS cycle,
           SUM(dm.open_amount) AS open_amount, SUM(dm.open_n) AS open_n,
           SUM(dm.weighted) AS weighted
    FROM dm JOIN mp ON mp.ms = dm.ms
    GROUP BY mp.pid, dm.kind, dm.sid
),
qraw AS (
    -- quotas touching the run, members' prorated to active days (FORMULAS.md 1)
    SELECT COALESCE(q.membership_id, -q.team_id) AS k, c.start, c."end",
           CASE
             WHEN q.membership_id IS NULL THEN q.amount
             WHEN act.n >= c."end" - c.start + 1 THEN q.amount
             ELSE ROUND(q.amount * act.n / (c."end" - c.start + 1), 2)
           END AS amount
    FROM goals_quota q
    JOIN spm_fiscalperiod c ON c.id = q.period_id,
    LATERAL (
        SELECT GREATEST(0, LEAST(c."end", COALESCE(mm.end_date, c."end"))
                           - GREATEST(c.start, COALESCE(mm.start_date, c.start)) + 1)::numeric AS n
        FROM (SELECT 1) one
        LEFT JOIN spm_membership mm ON mm.id = q.membership_id AND mm.tenant_id = %(t)s
    ) act
    WHERE q.tenant_id = %(t)s AND q.measure = 'bookings'
      AND c.start >= %(lo)s::date AND c."end" <= %(hi)s::date
),
qp AS (
    -- per period: the explicit quota, else the shorter periods' quotas inside it
    SELECT p.id AS pid, r.k, SUM(r.amount) AS amount
    FROM p JOIN qraw r ON r.start >= p.start AND r."end" <= p."end"
    WHERE NOT EXISTS (
        SELECT 1 FROM qraw r2
        WHERE r2.k = r.k AND r2.start >= p.start AND r2."end" <= p."end"
          AND r2.start <= r.start AND r2."end" >= r."end"
          AND (r2."end" - r2.start) > (r."end" - r.start)
    )
    GROUP BY p.id, r.k
),
mq AS (SELECT pid, k AS member_id, amount FROM qp WHERE k > 0),
tq_up AS (
    SELECT mq.pid, s.sid AS team_id, SUM(mq.amount) AS amount
    FROM mq JOIN m ON m.id = mq.member_id AND m.role = 'rep'
    JOIN msub s ON s.member_id = mq.member_id AND s.kind = 'team'
    GROUP BY mq.pid, s.sid
),
tq AS (
    SELECT COALESCE(e.pid, u.pid) AS pid, COALESCE(e.team_id, u.team_id) AS team_id,
           COALESCE(e.amount, u.amount) AS amount
    FROM (SELECT pid, -k AS team_id, amount FROM qp WHERE k < 0) e
    FULL JOIN tq_up u ON u.pid = e.pid AND u.team_id = e.team_id
),
quotas AS (
    SELECT pid, 'member'::text AS kind, member_id AS sid, amount FROM mq
    UNION ALL SELECT pid, 'team', team_id, amount FROM tq
    UNION ALL
    SELECT pid, 'tenant', 0, SUM(amount) FROM (
        SELECT tq.pid, tq.amount FROM tq JOIN teams t ON t.id = tq.team_id AND t.parent_id IS NULL
        UNION ALL
        SELECT mq.pid, mq.amount FROM mq
        JOIN m ON m.id = mq.member_id AND m.role = 'rep' AND m.team_id IS NULL
    ) roots GROUP BY pid
),
w AS (
    SELECT s.pid, s.kind, s.sid,
           COALESCE(a.bookings, 0) AS bookings, q.amount AS quota,
           COALESCE(a.won, 0) AS won, COALESCE(a.lost, 0) AS lost, a.cycle,
           COALESCE(a.open_amount, 0) AS open_amount, COALESCE(a.open_n, 0) AS open_n,
           ROUND(COALESCE(a.weighted, 0), 2) AS weighted
    FROM subj s
    LEFT JOIN dagg a ON a.pid = s.pid AND a.kind = s.kind AND a.sid = s.sid
    LEFT JOIN quotas q ON q.pid = s.pid AND q.kind = s.kind AND q.sid = s.sid
),
v AS (
    SELECT w.*,
      CASE WHEN quota > 0 THEN ROUND(bookings / quota, 10) END AS attainment,
      CASE WHEN won + lost > 0 THEN ROUND(won::numeric / (won + lost), 10) END AS win_rate,
      CASE WHEN won > 0 THEN ROUND(bookings / won, 2) END AS average_deal_size,
      ROUND(cycle, 2) AS cycle_days,
      CASE WHEN quota - bookings > 0 THEN ROUND(open_amount / (quota - bookings), 4) END
        AS coverage,
      CASE WHEN won + lost > 0 AND cycle > 0
           THEN ROUND(open_n * bookings / (won + lost) / cycle, 2) END AS velocity
    FROM w
)
SELECT v.pid, v.kind, v.sid, x.kpi, x.value FROM v CROSS JOIN LATERAL (VALUES
    ('bookings', v.bookings), ('quota', v.quota), ('attainment', v.attainment),
    ('deals_won', v.won::numeric), ('deals_lost', v.lost::numeric),
    ('win_rate', v.win_rate), ('average_deal_size', v.average_deal_size),
    ('sales_cycle_length', v.cycle_days), ('open_pipeline', v.open_amount),
    ('open_deals', v.open_n::numeric), ('weighted_pipeline', v.weighted),
    ('pipeline_coverage', v.coverage), ('sales_velocity', v.velocity)
) AS x(kpi, value)
"""
)

ACTIVITIES_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + _BASE
    + """,
am AS (
    SELECT date_trunc('month', a.occurred_on)::date AS ms, s.kind, s.sid, COUNT(*) AS n,
           COUNT(*) FILTER (WHERE a.kind = 'call') AS calls,
           COUNT(*) FILTER (WHERE a.kind = 'email') AS emails,
           COUNT(*) FILTER (WHERE a.kind = 'meeting') AS meetings,
           COUNT(*) FILTER (WHERE a.kind = 'demo') AS demos
    FROM pipeline_activity a
    JOIN msub s ON s.member_id = a.member_id
    WHERE a.tenant_id = %(t)s AND a.occurred_on BETWEEN %(lo)s::date AND %(hi)s::date
    GROUP BY 1, s.kind, s.sid
),
agg AS (
    SELECT mp.pid, am.kind, am.sid, SUM(am.n) AS n, SUM(am.calls) AS calls,
           SUM(am.emails) AS emails, SUM(am.meetings) AS meetings, SUM(am.demos) AS demos
    FROM am JOIN mp ON mp.ms = am.ms
    GROUP BY mp.pid, am.kind, am.sid
),
v AS (
    SELECT s.pid, s.kind, s.sid, COALESCE(a.n, 0) AS n, COALESCE(a.calls, 0) AS calls,
           COALESCE(a.emails, 0) AS emails, COALESCE(a.meetings, 0) AS meetings,
           COALESCE(a.demos, 0) AS demos
    FROM subj s LEFT JOIN agg a ON a.pid = s.pid AND a.kind = s.kind AND a.sid = s.sid
)
SELECT v.pid, v.kind, v.sid, x.kpi, x.value FROM v CROSS JOIN LATERAL (VALUES
    ('activities', v.n::numeric), ('activities_call', v.calls::numeric),
    ('activities_email', v.emails::numeric), ('activities_meeting', v.meetings::numeric),
    ('activities_demo', v.demos::numeric)
) AS x(kpi, value)
"""
)

LEADS_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + _BASE
    + """,
l AS (
    SELECT l.owner_id, l.awareness_on, l.interest_on, l.decision_on, l.action_on
    FROM pipeline_lead l
    WHERE l.tenant_id = %(t)s AND l.awareness_on BETWEEN %(lo)s::date AND %(hi)s::date
),
ls AS (
    SELECT s.kind, s.sid, l.* FROM l JOIN msub s ON s.member_id = l.owner_id AND s.kind <> 'tenant'
    UNION ALL
    SELECT 'tenant', 0, l.* FROM l
),
lm AS (
    SELECT date_trunc('month', ls.awareness_on)::date AS ms, ls.kind, ls.sid, COUNT(*) AS aware,
           COUNT(*) FILTER (WHERE ls.interest_on IS NOT NULL) AS interest,
           COUNT(*) FILTER (WHERE ls.decision_on IS NOT NULL) AS decision,
           COUNT(*) FILTER (WHERE ls.action_on IS NOT NULL) AS action
    FROM ls GROUP BY 1, ls.kind, ls.sid
),
agg AS (
    SELECT mp.pid, lm.kind, lm.sid, SUM(lm.aware) AS aware, SUM(lm.interest) AS interest,
           SUM(lm.decision) AS decision, SUM(lm.action) AS action
    FROM lm JOIN mp ON mp.ms = lm.ms
    GROUP BY mp.pid, lm.kind, lm.sid
),
v AS (
    SELECT s.pid, s.kind, s.sid, COALESCE(a.aware, 0) AS aware,
           COALESCE(a.interest, 0) AS interest, COALESCE(a.decision, 0) AS decision,
           COALESCE(a.action, 0) AS action
    FROM subj s LEFT JOIN agg a ON a.pid = s.pid AND a.kind = s.kind AND a.sid = s.sid
)
SELECT v.pid, v.kind, v.sid, x.kpi, x.value FROM v CROSS JOIN LATERAL (VALUES
    ('leads_awareness', v.aware::numeric), ('leads_interest', v.interest::numeric),
    ('leads_decision', v.decision::numeric), ('leads_action', v.action::numeric),
    ('lead_conversion',
     CASE WHEN v.aware > 0 THEN ROUND(v.action::numeric / v.aware, 10) END)
) AS x(kpi, value)
"""
)

RETENTION_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + _BASE
    + """,
acc AS (
    SELECT a.owner_id, a.customer_since, a.churned_on FROM pipeline_account a
    WHERE a.tenant_id = %(t)s AND a.customer_since IS NOT NULL AND a.customer_since <= %(hi)s::date
      AND (a.churned_on IS NULL OR a.churned_on > %(lo)s::date)
),
accs AS (
    SELECT s.kind, s.sid, acc.* FROM acc
    JOIN msub s ON s.member_id = acc.owner_id AND s.kind <> 'tenant'
    UNION ALL
    SELECT 'tenant', 0, acc.* FROM acc
),
agg AS (
    -- a customer on day D: customer_since <= D and not churned on or before D
    SELECT p.id AS pid, accs.kind, accs.sid, COUNT(*) AS at_start,
           COUNT(*) FILTER (WHERE accs.churned_on IS NULL OR accs.churned_on > p."end") AS kept
    FROM accs JOIN p ON accs.customer_since <= p.start
      AND (accs.churned_on IS NULL OR accs.churned_on > p.start)
    GROUP BY p.id, accs.kind, accs.sid
)
SELECT s.pid, s.kind, s.sid, 'retention_rate' AS kpi,
       CASE WHEN a.at_start > 0 THEN ROUND(a.kept::numeric / a.at_start, 10) END AS value
FROM subj s LEFT JOIN agg a ON a.pid = s.pid AND a.kind = s.kind AND a.sid = s.sid
"""
)

# Deals entering a stage per month, and whether they later reached the next
# stage (or any stage after it, lost stages aside): a window over each deal's
# history, kept in a temporary table for the stage statement.
ENTERED_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + _BASE
    + """,
st AS (
    SELECT s.id, s.pipeline_id, s.position, s.is_lost,
           (SELECT MIN(n.position) FROM pipeline_stage n
            WHERE n.tenant_id = %(t)s AND n.pipeline_id = s.pipeline_id
              AND n.position > s.position AND NOT n.is_lost) AS next_position
    FROM pipeline_stage s WHERE s.tenant_id = %(t)s
),
entries AS (
    -- changes in the run's dates into a stage that has a next stage
    SELECT sc.id, sc.deal_id, sc.to_stage_id AS stage_id, st.next_position,
           date_trunc('month', (sc.changed_at AT TIME ZONE %(tz)s)::date)::date AS ms
    FROM pipeline_stagechange sc
    JOIN st ON st.id = sc.to_stage_id
    WHERE sc.tenant_id = %(t)s AND st.next_position IS NOT NULL
      AND sc.changed_at >= (%(lo)s::date::timestamp AT TIME ZONE %(tz)s)
      AND sc.changed_at < ((%(hi)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
),
later AS (
    -- per change of those deals: the highest position of a non-lost stage of the
    -- same pipeline the deal entered at or after it (the change itself aside)
    SELECT l.id, MAX(ls.position) FILTER (WHERE NOT ls.is_lost) OVER (
               PARTITION BY l.deal_id, ls.pipeline_id ORDER BY l.changed_at
               RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING EXCLUDE CURRENT ROW
           ) AS top
    FROM pipeline_stagechange l JOIN st ls ON ls.id = l.to_stage_id
    WHERE l.tenant_id = %(t)s AND l.deal_id IN (SELECT deal_id FROM entries)
)
SELECT e.deal_id, e.stage_id, e.ms, bool_or(COALESCE(l.top >= e.next_position, false)) AS reached
FROM entries e JOIN later l ON l.id = e.id
GROUP BY e.deal_id, e.stage_id, e.ms
"""
)

STAGES_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + _BASE
    + """,
dp AS (
    -- distinct deals per (period, stage), before the subjects multiply them
    SELECT mp.pid, e.stage_id, e.deal_id, bool_or(e.reached) AS reached
    FROM kpis_entered e JOIN mp ON mp.ms = e.ms
    GROUP BY mp.pid, e.stage_id, e.deal_id
),
sd AS (
    -- the subjects credited on each of those deals, once each
    SELECT DISTINCT s.kind, s.sid, sp.deal_id
    FROM pipeline_dealsplit sp JOIN msub s ON s.member_id = sp.member_id
    WHERE sp.tenant_id = %(t)s AND sp.deal_id IN (SELECT deal_id FROM kpis_entered)
),
agg AS (
    SELECT dp.pid, sd.kind, sd.sid, dp.stage_id, COUNT(*) AS n,
           COUNT(*) FILTER (WHERE dp.reached) AS conv
    FROM dp JOIN sd ON sd.deal_id = dp.deal_id
    GROUP BY dp.pid, sd.kind, sd.sid, dp.stage_id
)
SELECT a.pid, a.kind, a.sid, x.kpi, x.value FROM agg a CROSS JOIN LATERAL (VALUES
    ('stage_entered:' || a.stage_id, a.n::numeric),
    ('stage_conversion:' || a.stage_id, ROUND(a.conv::numeric / a.n, 10))
) AS x(kpi, value)
"""
)

PIPELINE_STAGES_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + _BASE
    + """,
ds AS (
    SELECT s.kind, s.sid, d.id, d.stage_id, d.expected_close_date AS fdate, d.probability,
           SUM(sp.credited_amount) AS credit
    FROM pipeline_deal d
    JOIN pipeline_dealsplit sp ON sp.deal_id = d.id AND sp.tenant_id = %(t)s
    JOIN msub s ON s.member_id = sp.member_id
    WHERE d.tenant_id = %(t)s AND d.status = 'open'
      AND d.expected_close_date BETWEEN %(lo)s::date AND %(hi)s::date
    GROUP BY s.kind, s.sid, d.id, d.stage_id, d.expected_close_date, d.probability
),
sm AS (
    SELECT date_trunc('month', ds.fdate)::date AS ms, ds.kind, ds.sid, ds.stage_id,
           SUM(ds.credit) AS raw, SUM(ds.credit * ds.probability / 100) AS weighted
    FROM ds GROUP BY 1, ds.kind, ds.sid, ds.stage_id
),
agg AS (
    SELECT mp.pid, sm.kind, sm.sid, sm.stage_id, SUM(sm.raw) AS raw,
           ROUND(SUM(sm.weighted), 2) AS weighted
    FROM sm JOIN mp ON mp.ms = sm.ms
    GROUP BY mp.pid, sm.kind, sm.sid, sm.stage_id
)
SELECT a.pid, a.kind, a.sid, x.kpi, x.value FROM agg a CROSS JOIN LATERAL (VALUES
    ('stage_pipeline:' || a.stage_id, a.raw), ('stage_weighted:' || a.stage_id, a.weighted)
) AS x(kpi, value)
"""
)

CUSTOM_SQL = """
INSERT INTO kpis_run (period_id, subject_kind, subject_id, kpi, value)
SELECT r.period_id, r.subject_kind, r.subject_id, %s,
       CASE WHEN abs(r.v) < 1e17 THEN ROUND(r.v, 10) END
FROM (
    SELECT m.period_id, m.subject_kind, m.subject_id, ({expr}) AS v
    FROM (
        SELECT period_id, subject_kind, subject_id, {columns}
        FROM kpis_run
        WHERE kpi = ANY(%s)
        GROUP BY period_id, subject_kind, subject_id
    ) m
) r
"""

# The planner's estimates of these CTE chains are far too low, so left alone it
# groups by sorting; the statements run with sorts disabled and aggregate with
# hashes (several times faster at scale). ENTERED_SQL keeps its sort (a window).
BUILT_IN_STATEMENTS = [
    ("deals", DEALS_SQL),
    ("activities", ACTIVITIES_SQL),
    ("leads", LEADS_SQL),
    ("retention", RETENTION_SQL),
    ("pipeline_stages", PIPELINE_STAGES_SQL),
    ("stages", STAGES_SQL),
]


# Memory per sort or hash of a recompute (SET LOCAL: the recompute's transaction
# only): a tenant-year of 100,000 deals groups ~500,000 (subject, deal) rows.
WORK_MEM = "256MB"


def compute(
    tenant: Tenant,
    *,
    period_ids: Sequence[int],
    custom: Sequence[CustomKpi] | None = None,
) -> int:
    """Recompute every KPI of ``period_ids`` for every subject of ``tenant``.

    Call inside ``tenant_context(tenant)`` (one transaction). ``custom`` are
    the tenant's custom KPIs (read by the caller); an invalid stored formula
    is skipped, never evaluated. Returns the number of values computed; only
    the changed ones are written (``last_written`` holds how many were
    upserted and deleted).
    """
    ids = sorted({int(pk) for pk in period_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT MIN(start), MAX("end") FROM spm_fiscalperiod '
            "WHERE tenant_id = %s AND id = ANY(%s)",
            [tenant.pk, ids],
        )
        lo, hi = cursor.fetchone()
        if lo is None:
            return 0
        # The run's first and last days go in as constants, so every date filter
        # is applied (and indexed) before any join.
        params = {"t": tenant.pk, "pids": ids, "tz": tenant.time_zone, "lo": lo, "hi": hi}
        # Sorts and hashes of a tenant-year stay in memory (this transaction only).
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        # The plans are large but run once: JIT compilation cost more than it saved.
        cursor.execute("SET LOCAL jit = off")
        clock = _Clock()
        cursor.execute(_RUN_TABLE)
        cursor.execute(_SETUP, params)
        cursor.execute(
            "DROP TABLE IF EXISTS pg_temp.kpis_entered; "
            "CREATE TEMP TABLE kpis_entered ON COMMIT DROP AS " + ENTERED_SQL,
            params,
        )
        cursor.execute("ANALYZE kpis_entered")
        clock.lap("setup")
        cursor.execute("SET LOCAL enable_sort = off")
        for name, select in BUILT_IN_STATEMENTS:
            cursor.execute(_COLLECT.format(select=select), params)
            clock.lap(name)
        cursor.execute("SET LOCAL enable_sort = on")
        for kpi in custom or []:
            _compute_custom(cursor, kpi)
        clock.lap("custom")
        cursor.execute("SELECT count(*) FROM kpis_run")
        rows = int(cursor.fetchone()[0])
        # Hash joins whatever the estimates (a nested loop over the unindexed
        # run table would be quadratic).
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(DIFF_SQL, [tenant.pk, ids])
        cursor.execute("SET LOCAL enable_nestloop = on")
        clock.lap("diff")
        cursor.execute(WRITE_SQL, [tenant.pk])
        upserted = cursor.rowcount
        clock.lap("write")
        cursor.execute(STALE_SQL, [tenant.pk])
        deleted = cursor.rowcount
        clock.lap("stale")
        cursor.execute(
            "DROP TABLE kpis_run, kpis_diff, kpis_entered, kpis_p, kpis_mp, kpis_m, kpis_teams, "
            "kpis_msub, kpis_subj"
        )
    last_written.update(upserted=upserted, deleted=deleted)
    last_seconds.clear()
    last_seconds.update(clock.laps)
    return rows


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._at = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._at, 3)
        self._at = now


# Seconds per step of the last ``compute`` in this process (benchmarks, profiling).
last_seconds: dict[str, float] = {}
# How many rows the last ``compute`` in this process upserted and deleted (benchmarks, logs).
last_written: dict[str, int] = {"upserted": 0, "deleted": 0}


def clear(tenant: Tenant, *, period_ids: Sequence[int]) -> int:
    """Delete every stored value of ``period_ids`` (periods the engine no
    longer computes). Call inside ``tenant_context(tenant)``."""
    ids = sorted({int(pk) for pk in period_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(CLEAR_SQL, [tenant.pk, ids])
        return int(cursor.rowcount)


def _compute_custom(cursor: Any, kpi: CustomKpi) -> None:
    compiled = compile_sql(kpi.formula, column="m.{key}")
    measures = sorted(compiled.measures)
    # Measure keys come from the whitelist in kpis.definitions, never from input.
    columns = ", ".join(f"MAX(value) FILTER (WHERE kpi = '{key}') AS {key}" for key in measures)
    sql = CUSTOM_SQL.format(expr=compiled.sql, columns=columns)
    cursor.execute(sql, [kpi.value_key, *compiled.params, measures])
