"""The KPI engine: every built-in KPI of a tenant's periods, for every member,
every team (rolled up the team tree) and the tenant, in a handful of SQL
statements, stored in ``kpis_kpivalue``.

Contract: ``compute(tenant, period_ids=[...])`` runs inside the tenant's
context (RLS) and inside one transaction; it returns the number of values
computed. No Python loop over deals or people and no query per rep: each
statement is set-based over the whole tenant and all the given months or
periods.

Two layers (timings per step in ``last_seconds``):
- facts: the additive figures of every subject per calendar month, unrounded
  (``kpis_monthfact``: bookings, won/lost counts, cycle-day sums, open and
  weighted pipeline, activities, leads; ``kpis_stagefact``: pipeline by stage
  and stage entries), computed for the months a run is given (``fact_months``;
  all months of the periods by default) and written where they changed;
- values: every period of the run is derived from its months' stored facts
  (sums and counts add up; averages keep sum and count; rounding happens once,
  on the period's total), with quotas and retention read per period. So a
  change to one deal recomputes the facts of its one or two months, and its
  quarter and year are re-derived from twelve stored months instead of a
  year of deals.

Each derived value goes into the temporary ``kpis_run``; one hash full join
against the stored values of the run's periods finds new rows, changed values
and rows the run no longer produces (a subject that lost its last deal); only
those are inserted, updated or deleted (``last_written``), so a recompute is
idempotent and exact, and an unchanged period costs no write.

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
  the weighted and open pipeline is today's state of the open deals;
- stage conversion counts distinct deals per period: a deal that entered a
  stage twice in a quarter counts once in the quarter, by its first entry.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
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

# Changed values are updated in place; new ones are inserted plainly (the
# period's advisory lock keeps other runs out, so no conflict handling).
UPDATE_SQL = """
UPDATE kpis_kpivalue v SET value = d.value, computed_at = now()
FROM kpis_diff d WHERE v.id = d.stored_id AND d.stored_id IS NOT NULL AND d.kpi IS NOT NULL
"""

INSERT_SQL = """
INSERT INTO kpis_kpivalue (tenant_id, period_id, subject_kind, subject_id, kpi, value, computed_at)
SELECT %s, r.period_id, r.subject_kind, r.subject_id, r.kpi, r.value, now()
FROM kpis_diff r WHERE r.stored_id IS NULL
ORDER BY r.period_id, r.subject_kind, r.subject_id, r.kpi
"""

STALE_SQL = """
DELETE FROM kpis_kpivalue v USING kpis_diff d
WHERE v.tenant_id = %s AND v.id = d.stored_id AND d.stored_id IS NOT NULL AND d.kpi IS NULL
"""

# How many rows of the diff are changed, new and stale: a statement with
# nothing to do is skipped (its plan would still read the stored values).
DIFF_COUNTS_SQL = """
SELECT count(*) FILTER (WHERE stored_id IS NOT NULL AND kpi IS NOT NULL),
       count(*) FILTER (WHERE stored_id IS NULL),
       count(*) FILTER (WHERE kpi IS NULL)
FROM kpis_diff
"""

CLEAR_SQL = "DELETE FROM kpis_kpivalue WHERE tenant_id = %s AND period_id = ANY(%s)"

# Facts ------------------------------------------------------------------------------
# Statements over one contiguous range of months (%(flo)s = first day of the
# first month, %(fhi)s = last day of the last), every subject, into the
# temporary kpis_frun / kpis_sfrun; grouped and written by _FACTS_WRITE.

_FACT_TABLES = """
DROP TABLE IF EXISTS pg_temp.kpis_frun, pg_temp.kpis_sfrun;
CREATE TEMP TABLE kpis_frun (
    month date NOT NULL, kind text NOT NULL, sid bigint NOT NULL,
    bookings numeric, won bigint, lost bigint, cycle_sum bigint, open_amount numeric,
    open_n bigint, weighted numeric, n bigint, calls bigint, emails bigint, meetings bigint,
    demos bigint, aware bigint, interest bigint, decision bigint, action bigint
) ON COMMIT DROP;
CREATE TEMP TABLE kpis_sfrun (
    month date NOT NULL, kind text NOT NULL, sid bigint NOT NULL, stage_id bigint NOT NULL,
    open_amount numeric, weighted numeric, entered_m bigint, conv_m bigint,
    entered_q bigint, conv_q bigint, entered_y bigint, conv_y bigint
) ON COMMIT DROP
"""

DEAL_FACTS_SQL = """
INSERT INTO kpis_frun (month, kind, sid, bookings, won, lost, cycle_sum, open_amount, open_n,
                       weighted)
WITH msub AS NOT MATERIALIZED (SELECT * FROM kpis_msub),
d AS (
    -- closed deals by close date, open ones by expected close date (each an
    -- index range)
    SELECT d.id, d.status, d.probability, d.close_date - d.created_on AS cycle,
           date_trunc('month', d.close_date)::date AS ms
    FROM pipeline_deal d
    WHERE d.tenant_id = %(t)s AND d.status IN ('won', 'lost')
      AND d.close_date BETWEEN %(flo)s::date AND %(fhi)s::date
    UNION ALL
    SELECT d.id, d.status, d.probability, d.expected_close_date - d.created_on,
           date_trunc('month', d.expected_close_date)::date
    FROM pipeline_deal d
    WHERE d.tenant_id = %(t)s AND d.status = 'open'
      AND d.expected_close_date BETWEEN %(flo)s::date AND %(fhi)s::date
),
ds AS (
    -- one row per (subject, deal): a team counts each deal once
    SELECT s.kind, s.sid, d.id, d.status, d.ms, d.cycle, d.probability,
           SUM(sp.credited_amount) AS credit
    FROM d
    -- each deal's splits by index (OFFSET 0 keeps the planner from hashing
    -- every split of the tenant for a month's deals)
    CROSS JOIN LATERAL (
        SELECT x.member_id, x.credited_amount FROM pipeline_dealsplit x
        WHERE x.deal_id = d.id AND x.tenant_id = %(t)s OFFSET 0
    ) sp
    JOIN msub s ON s.member_id = sp.member_id
    GROUP BY s.kind, s.sid, d.id, d.status, d.ms, d.cycle, d.probability
)
SELECT ds.ms, ds.kind, ds.sid,
       SUM(ds.credit) FILTER (WHERE ds.status = 'won'),
       COUNT(*) FILTER (WHERE ds.status = 'won'),
       COUNT(*) FILTER (WHERE ds.status = 'lost'),
       SUM(ds.cycle) FILTER (WHERE ds.status = 'won'),
       SUM(ds.credit) FILTER (WHERE ds.status = 'open'),
       COUNT(*) FILTER (WHERE ds.status = 'open'),
       SUM(ds.credit * ds.probability / 100) FILTER (WHERE ds.status = 'open')
FROM ds GROUP BY ds.ms, ds.kind, ds.sid
"""

ACTIVITY_FACTS_SQL = """
INSERT INTO kpis_frun (month, kind, sid, n, calls, emails, meetings, demos)
SELECT date_trunc('month', a.occurred_on)::date, s.kind, s.sid, COUNT(*),
       COUNT(*) FILTER (WHERE a.kind = 'call'),
       COUNT(*) FILTER (WHERE a.kind = 'email'),
       COUNT(*) FILTER (WHERE a.kind = 'meeting'),
       COUNT(*) FILTER (WHERE a.kind = 'demo')
FROM pipeline_activity a
JOIN kpis_msub s ON s.member_id = a.member_id
WHERE a.tenant_id = %(t)s AND a.occurred_on BETWEEN %(flo)s::date AND %(fhi)s::date
GROUP BY 1, s.kind, s.sid
"""

LEAD_FACTS_SQL = """
INSERT INTO kpis_frun (month, kind, sid, aware, interest, decision, action)
WITH l AS (
    SELECT l.owner_id, l.awareness_on, l.interest_on, l.decision_on, l.action_on
    FROM pipeline_lead l
    WHERE l.tenant_id = %(t)s AND l.awareness_on BETWEEN %(flo)s::date AND %(fhi)s::date
),
ls AS (
    -- the tenant counts every lead, owned or not
    SELECT s.kind, s.sid, l.* FROM l
    JOIN kpis_msub s ON s.member_id = l.owner_id AND s.kind <> 'tenant'
    UNION ALL
    SELECT 'tenant', 0, l.* FROM l
)
SELECT date_trunc('month', ls.awareness_on)::date, ls.kind, ls.sid, COUNT(*),
       COUNT(*) FILTER (WHERE ls.interest_on IS NOT NULL),
       COUNT(*) FILTER (WHERE ls.decision_on IS NOT NULL),
       COUNT(*) FILTER (WHERE ls.action_on IS NOT NULL)
FROM ls GROUP BY 1, ls.kind, ls.sid
"""

PIPELINE_STAGE_FACTS_SQL = """
INSERT INTO kpis_sfrun (month, kind, sid, stage_id, open_amount, weighted)
WITH ds AS (
    SELECT s.kind, s.sid, d.id, d.stage_id, d.expected_close_date AS fdate, d.probability,
           SUM(sp.credited_amount) AS credit
    FROM pipeline_deal d
    CROSS JOIN LATERAL (
        SELECT x.member_id, x.credited_amount FROM pipeline_dealsplit x
        WHERE x.deal_id = d.id AND x.tenant_id = %(t)s OFFSET 0
    ) sp
    JOIN kpis_msub s ON s.member_id = sp.member_id
    WHERE d.tenant_id = %(t)s AND d.status = 'open'
      AND d.expected_close_date BETWEEN %(flo)s::date AND %(fhi)s::date
    GROUP BY s.kind, s.sid, d.id, d.stage_id, d.expected_close_date, d.probability
)
SELECT date_trunc('month', ds.fdate)::date, ds.kind, ds.sid, ds.stage_id,
       SUM(ds.credit), SUM(ds.credit * ds.probability / 100)
FROM ds GROUP BY 1, ds.kind, ds.sid, ds.stage_id
"""

# Deals entering a stage in the months, and whether they later reached the next
# stage (or any stage after it, lost stages aside): a window over the whole
# history of each deal that changed stage in the months. A deal's entry is the
# first of its fiscal quarter (year) when its previous entry into the stage
# fell in another quarter (year).
STAGE_ENTRIES_SQL = """
DROP TABLE IF EXISTS pg_temp.kpis_entries;
CREATE TEMP TABLE kpis_entries ON COMMIT DROP AS
WITH st AS (
    SELECT s.id, s.pipeline_id, s.position, s.is_lost,
           (SELECT MIN(n.position) FROM pipeline_stage n
            WHERE n.tenant_id = %(t)s AND n.pipeline_id = s.pipeline_id
              AND n.position > s.position AND NOT n.is_lost) AS next_position
    FROM pipeline_stage s WHERE s.tenant_id = %(t)s
),
touched AS (
    SELECT DISTINCT sc.deal_id
    FROM pipeline_stagechange sc
    JOIN st ON st.id = sc.to_stage_id
    WHERE sc.tenant_id = %(t)s AND st.next_position IS NOT NULL
      AND sc.changed_at >= (%(flo)s::date::timestamp AT TIME ZONE %(tz)s)
      AND sc.changed_at < ((%(fhi)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
),
hist AS (
    -- per change of those deals: the highest position of a non-lost stage of the
    -- same pipeline the deal entered at or after it (the change itself aside)
    SELECT l.deal_id, l.to_stage_id AS stage_id, ls.next_position,
           date_trunc('month', (l.changed_at AT TIME ZONE %(tz)s)::date)::date AS ms,
           MAX(ls.position) FILTER (WHERE NOT ls.is_lost) OVER (
               PARTITION BY l.deal_id, ls.pipeline_id ORDER BY l.changed_at
               RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING EXCLUDE CURRENT ROW
           ) AS top
    FROM pipeline_stagechange l JOIN st ls ON ls.id = l.to_stage_id
    WHERE l.tenant_id = %(t)s AND l.deal_id IN (SELECT deal_id FROM touched)
),
e AS (
    SELECT deal_id, stage_id, ms, bool_or(COALESCE(top >= next_position, false)) AS reached
    FROM hist WHERE next_position IS NOT NULL
    GROUP BY deal_id, stage_id, ms
),
ef AS (
    -- months counted from the fiscal year's first month: quarters are blocks
    -- of 3, years of 12 (the way the tenant's periods are generated)
    SELECT e.deal_id, e.stage_id, e.ms, e.reached,
           EXTRACT(YEAR FROM e.ms)::int * 12 + EXTRACT(MONTH FROM e.ms)::int - %(fsm)s AS k,
           LAG(EXTRACT(YEAR FROM e.ms)::int * 12 + EXTRACT(MONTH FROM e.ms)::int - %(fsm)s)
               OVER (PARTITION BY e.deal_id, e.stage_id ORDER BY e.ms) AS prev_k
    FROM e
)
SELECT ef.deal_id, ef.stage_id, ef.ms, ef.reached,
       (ef.prev_k IS NULL OR ef.prev_k / 3 <> ef.k / 3) AS first_q,
       (ef.prev_k IS NULL OR ef.prev_k / 12 <> ef.k / 12) AS first_y
FROM ef WHERE ef.ms BETWEEN %(flo)s::date AND %(fhi)s::date;
-- (analysed: estimates of the window's output are far off, and a nested loop
-- over a misjudged "one row" costs minutes)
ANALYZE kpis_entries
"""

STAGE_ENTRY_FACTS_SQL = """
INSERT INTO kpis_sfrun (month, kind, sid, stage_id, entered_m, conv_m, entered_q, conv_q,
                        entered_y, conv_y)
WITH sel AS NOT MATERIALIZED (SELECT * FROM kpis_entries),
sd AS (
    -- the subjects credited on each of those deals, once each
    SELECT DISTINCT s.kind, s.sid, sp.deal_id
    FROM pipeline_dealsplit sp JOIN kpis_msub s ON s.member_id = sp.member_id
    WHERE sp.tenant_id = %(t)s AND sp.deal_id IN (SELECT deal_id FROM kpis_entries)
)
SELECT sel.ms, sd.kind, sd.sid, sel.stage_id,
       COUNT(*), COUNT(*) FILTER (WHERE sel.reached),
       COUNT(*) FILTER (WHERE sel.first_q), COUNT(*) FILTER (WHERE sel.first_q AND sel.reached),
       COUNT(*) FILTER (WHERE sel.first_y), COUNT(*) FILTER (WHERE sel.first_y AND sel.reached)
FROM sel JOIN sd ON sd.deal_id = sel.deal_id
GROUP BY sel.ms, sd.kind, sd.sid, sel.stage_id
"""

FACT_STATEMENTS = [
    ("deal facts", DEAL_FACTS_SQL),
    ("activity facts", ACTIVITY_FACTS_SQL),
    ("lead facts", LEAD_FACTS_SQL),
    ("pipeline stage facts", PIPELINE_STAGE_FACTS_SQL),
    ("stage entries", STAGE_ENTRIES_SQL),
    ("stage entry facts", STAGE_ENTRY_FACTS_SQL),
]

_MONTH_COLUMNS = (
    "bookings, deals_won, deals_lost, cycle_days_sum, open_amount, open_deals, weighted, "
    "activities, calls, emails, meetings, demos, leads_awareness, leads_interest, "
    "leads_decision, leads_action"
)
_STAGE_COLUMNS = (
    "open_amount, weighted, entered_month, converted_month, entered_quarter, "
    "converted_quarter, entered_year, converted_year"
)


def _excluded(columns: str) -> tuple[str, str, str]:
    names = [c.strip() for c in columns.split(",")]
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in names)
    old = ", ".join(f"f.{c}" for c in names)
    new = ", ".join(f"EXCLUDED.{c}" for c in names)
    return sets, old, new


_M_SET, _M_OLD, _M_NEW = _excluded(_MONTH_COLUMNS)
_S_SET, _S_OLD, _S_NEW = _excluded(_STAGE_COLUMNS)

# Every computed month gets a tenant row (zeros included): it marks the month
# as computed. Rows the run no longer produces are deleted; the others are
# upserted where a figure moved.
FACTS_WRITE_SQL = f"""
INSERT INTO kpis_frun (month, kind, sid) SELECT unnest(%(months)s::date[]), 'tenant', 0;
DROP TABLE IF EXISTS pg_temp.kpis_fagg, pg_temp.kpis_sfagg;
CREATE TEMP TABLE kpis_fagg ON COMMIT DROP AS
SELECT month, kind, sid, SUM(bookings) AS bookings, COALESCE(SUM(won), 0) AS won,
       COALESCE(SUM(lost), 0) AS lost, COALESCE(SUM(cycle_sum), 0) AS cycle_sum,
       SUM(open_amount) AS open_amount, COALESCE(SUM(open_n), 0) AS open_n,
       SUM(weighted) AS weighted, COALESCE(SUM(n), 0) AS n, COALESCE(SUM(calls), 0) AS calls,
       COALESCE(SUM(emails), 0) AS emails, COALESCE(SUM(meetings), 0) AS meetings,
       COALESCE(SUM(demos), 0) AS demos, COALESCE(SUM(aware), 0) AS aware,
       COALESCE(SUM(interest), 0) AS interest, COALESCE(SUM(decision), 0) AS decision,
       COALESCE(SUM(action), 0) AS action
FROM kpis_frun GROUP BY month, kind, sid;
CREATE TEMP TABLE kpis_sfagg ON COMMIT DROP AS
SELECT month, kind, sid, stage_id, SUM(open_amount) AS open_amount, SUM(weighted) AS weighted,
       COALESCE(SUM(entered_m), 0) AS entered_m, COALESCE(SUM(conv_m), 0) AS conv_m,
       COALESCE(SUM(entered_q), 0) AS entered_q, COALESCE(SUM(conv_q), 0) AS conv_q,
       COALESCE(SUM(entered_y), 0) AS entered_y, COALESCE(SUM(conv_y), 0) AS conv_y
FROM kpis_sfrun GROUP BY month, kind, sid, stage_id;
DELETE FROM kpis_monthfact f
WHERE f.tenant_id = %(t)s AND f.month = ANY(%(months)s::date[]) AND NOT EXISTS (
    SELECT 1 FROM kpis_fagg r
    WHERE r.month = f.month AND r.kind = f.subject_kind AND r.sid = f.subject_id);
DELETE FROM kpis_stagefact f
WHERE f.tenant_id = %(t)s AND f.month = ANY(%(months)s::date[]) AND NOT EXISTS (
    SELECT 1 FROM kpis_sfagg r
    WHERE r.month = f.month AND r.kind = f.subject_kind AND r.sid = f.subject_id
      AND r.stage_id = f.stage_id);
INSERT INTO kpis_monthfact AS f (tenant_id, month, subject_kind, subject_id, {_MONTH_COLUMNS})
SELECT %(t)s, month, kind, sid, bookings, won, lost, cycle_sum, open_amount, open_n, weighted,
       n, calls, emails, meetings, demos, aware, interest, decision, action
FROM kpis_fagg
ON CONFLICT (tenant_id, month, subject_kind, subject_id) DO UPDATE SET {_M_SET}
WHERE ({_M_OLD}) IS DISTINCT FROM ({_M_NEW});
INSERT INTO kpis_stagefact AS f (tenant_id, month, subject_kind, subject_id, stage_id,
                                 {_STAGE_COLUMNS})
SELECT %(t)s, month, kind, sid, stage_id, open_amount, weighted, entered_m, conv_m, entered_q,
       conv_q, entered_y, conv_y
FROM kpis_sfagg
ON CONFLICT (tenant_id, month, subject_kind, subject_id, stage_id) DO UPDATE SET {_S_SET}
WHERE ({_S_OLD}) IS DISTINCT FROM ({_S_NEW});
DROP TABLE kpis_frun, kpis_sfrun, kpis_fagg, kpis_sfagg, kpis_entries
"""  # noqa: S608 -- constant column lists

# Months of the run's periods whose facts were never computed (no tenant row).
MISSING_MONTHS_SQL = """
SELECT DISTINCT mp.ms FROM kpis_mp mp
WHERE NOT EXISTS (
    SELECT 1 FROM kpis_monthfact f
    WHERE f.tenant_id = %s AND f.month = mp.ms AND f.subject_kind = 'tenant' AND f.subject_id = 0
)
"""


# Values -----------------------------------------------------------------------------
# Every period of the run from the stored facts of its months.

VALUES_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + _BASE
    + """,
f AS (
    SELECT mp.pid, f.subject_kind AS kind, f.subject_id AS sid,
           SUM(f.bookings) AS bookings, SUM(f.deals_won) AS won, SUM(f.deals_lost) AS lost,
           SUM(f.cycle_days_sum)::numeric / NULLIF(SUM(f.deals_won), 0) AS cycle,
           SUM(f.open_amount) AS open_amount, SUM(f.open_deals) AS open_n,
           SUM(f.weighted) AS weighted, SUM(f.activities) AS n, SUM(f.calls) AS calls,
           SUM(f.emails) AS emails, SUM(f.meetings) AS meetings, SUM(f.demos) AS demos,
           SUM(f.leads_awareness) AS aware, SUM(f.leads_interest) AS interest,
           SUM(f.leads_decision) AS decision, SUM(f.leads_action) AS action
    FROM kpis_monthfact f JOIN mp ON mp.ms = f.month
    WHERE f.tenant_id = %(t)s AND f.month BETWEEN %(lo)s::date AND %(hi)s::date
    GROUP BY mp.pid, f.subject_kind, f.subject_id
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
           ROUND(COALESCE(a.weighted, 0), 2) AS weighted,
           COALESCE(a.n, 0) AS n, COALESCE(a.calls, 0) AS calls,
           COALESCE(a.emails, 0) AS emails, COALESCE(a.meetings, 0) AS meetings,
           COALESCE(a.demos, 0) AS demos, COALESCE(a.aware, 0) AS aware,
           COALESCE(a.interest, 0) AS interest, COALESCE(a.decision, 0) AS decision,
           COALESCE(a.action, 0) AS action
    FROM subj s
    LEFT JOIN f a ON a.pid = s.pid AND a.kind = s.kind AND a.sid = s.sid
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
    ('pipeline_coverage', v.coverage), ('sales_velocity', v.velocity),
    ('activities', v.n::numeric), ('activities_call', v.calls::numeric),
    ('activities_email', v.emails::numeric), ('activities_meeting', v.meetings::numeric),
    ('activities_demo', v.demos::numeric),
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

# Per stage: the pipeline expected in the period (subjects with open deals
# there) and the period's distinct entries with their conversion (subjects
# with entries): a month counts its entries, a quarter (year) the months'
# first entries of the quarter (year).
STAGES_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + _BASE
    + """,
sf AS (
    SELECT mp.pid, f.subject_kind AS kind, f.subject_id AS sid, f.stage_id,
           SUM(f.open_amount) AS raw, ROUND(SUM(f.weighted), 2) AS weighted,
           SUM(CASE p.kind WHEN 'month' THEN f.entered_month
                           WHEN 'quarter' THEN f.entered_quarter
                           ELSE f.entered_year END) AS n,
           SUM(CASE p.kind WHEN 'month' THEN f.converted_month
                           WHEN 'quarter' THEN f.converted_quarter
                           ELSE f.converted_year END) AS conv
    FROM kpis_stagefact f JOIN mp ON mp.ms = f.month JOIN p ON p.id = mp.pid
    WHERE f.tenant_id = %(t)s AND f.month BETWEEN %(lo)s::date AND %(hi)s::date
    GROUP BY mp.pid, f.subject_kind, f.subject_id, f.stage_id
)
SELECT sf.pid, sf.kind, sf.sid, x.kpi, x.value FROM sf CROSS JOIN LATERAL (VALUES
    ('stage_pipeline:' || sf.stage_id, sf.raw, sf.raw IS NOT NULL),
    ('stage_weighted:' || sf.stage_id, sf.weighted, sf.raw IS NOT NULL),
    ('stage_entered:' || sf.stage_id, sf.n::numeric, sf.n > 0),
    ('stage_conversion:' || sf.stage_id, ROUND(sf.conv::numeric / NULLIF(sf.n, 0), 10), sf.n > 0)
) AS x(kpi, value, present)
WHERE x.present
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

VALUE_STATEMENTS = [
    ("values", VALUES_SQL),
    ("retention", RETENTION_SQL),
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
    fact_months: Iterable[dt.date] | None = None,
) -> int:
    """Recompute every KPI of ``period_ids`` for every subject of ``tenant``.

    ``fact_months`` are the calendar months (any day of each) whose facts
    changed and are computed again; by default every month of the periods.
    Months of the periods never computed before are always computed. Call
    inside ``tenant_context(tenant)`` (one transaction). ``custom`` are the
    tenant's custom KPIs (read by the caller); an invalid stored formula is
    skipped, never evaluated. Returns the number of values computed; only the
    changed ones are written (``last_written`` holds how many were upserted
    and deleted).
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
        params = {
            "t": tenant.pk,
            "pids": ids,
            "tz": tenant.time_zone,
            "lo": lo,
            "hi": hi,
            "fsm": tenant.fiscal_year_start_month,
        }
        # Sorts and hashes of a tenant-year stay in memory (this transaction only).
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        # The plans are large but run once: JIT compilation cost more than it saved.
        cursor.execute("SET LOCAL jit = off")
        clock = _Clock()
        cursor.execute(_SETUP, params)
        if fact_months is None:
            cursor.execute("SELECT DISTINCT ms FROM kpis_mp")
            months = {row[0] for row in cursor.fetchall()}
        else:
            months = {d.replace(day=1) for d in fact_months}
            cursor.execute(MISSING_MONTHS_SQL, [tenant.pk])
            months |= {row[0] for row in cursor.fetchall()}
        clock.lap("setup")
        _compute_facts(cursor, params, sorted(months), clock)
        cursor.execute(_RUN_TABLE)
        # The planner's estimates of these CTE chains are far too low, so left
        # alone it groups by sorting; hashes are several times faster at scale.
        cursor.execute("SET LOCAL enable_sort = off")
        for name, select in VALUE_STATEMENTS:
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
        cursor.execute("ANALYZE kpis_diff")
        cursor.execute(DIFF_COUNTS_SQL)
        changed, new, stale = cursor.fetchone()
        clock.lap("diff")
        upserted, deleted = 0, 0
        if changed:
            cursor.execute(UPDATE_SQL)
            upserted += cursor.rowcount
        if new:
            cursor.execute(INSERT_SQL, [tenant.pk])
            upserted += cursor.rowcount
        clock.lap("write")
        if stale:
            cursor.execute(STALE_SQL, [tenant.pk])
            deleted = cursor.rowcount
        clock.lap("stale")
        cursor.execute(
            "DROP TABLE kpis_run, kpis_diff, kpis_p, kpis_mp, kpis_m, kpis_teams, "
            "kpis_msub, kpis_subj"
        )
    last_written.update(upserted=upserted, deleted=deleted)
    last_seconds.clear()
    last_seconds.update(clock.laps)
    last_seconds["fact months"] = len(months)
    return rows


def _month_ranges(months: Sequence[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted month starts -> (first day, last day) of each run of consecutive months."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for start in months:
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        if ranges and ranges[-1][1] + dt.timedelta(days=1) == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


def _compute_facts(cursor: Any, params: dict[str, Any], months: list[dt.date], clock: Any) -> None:
    """Compute and write the facts of ``months`` (month starts), one pass per
    run of consecutive months, so the date filters stay index ranges."""
    if not months:
        return
    cursor.execute(_FACT_TABLES, params)
    cursor.execute("SET LOCAL enable_sort = off")
    for flo, fhi in _month_ranges(months):
        for name, sql in FACT_STATEMENTS:
            if name == "stage entries":
                # a window over each deal's history: sorting is the plan
                cursor.execute("SET LOCAL enable_sort = on")
            cursor.execute(sql, {**params, "flo": flo, "fhi": fhi})
            cursor.execute("SET LOCAL enable_sort = off")
            clock.lap(name)
    cursor.execute("SET LOCAL enable_sort = on")
    cursor.execute(FACTS_WRITE_SQL, {**params, "months": months})
    clock.lap("facts write")


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._at = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self._at, 3)
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
