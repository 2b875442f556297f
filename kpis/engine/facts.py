"""Layer 1: the additive figures of every subject per calendar month, computed
over runs of consecutive months and written where they changed."""

from __future__ import annotations

# Statements over one contiguous range of months (%(flo)s = first day of the
# first month, %(fhi)s = last day of the last), every subject, into the
# temporary kpis_frun / kpis_sfrun; grouped and written by FACTS_WRITE_SQL.

FACT_TABLES_SQL = """
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
    WHERE d.tenant_id = %(t)s AND d.status IN (%(status_won)s, %(status_lost)s)
      AND d.close_date BETWEEN %(flo)s::date AND %(fhi)s::date
    UNION ALL
    SELECT d.id, d.status, d.probability, d.expected_close_date - d.created_on,
           date_trunc('month', d.expected_close_date)::date
    FROM pipeline_deal d
    WHERE d.tenant_id = %(t)s AND d.status = %(status_open)s
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
       SUM(ds.credit) FILTER (WHERE ds.status = %(status_won)s),
       COUNT(*) FILTER (WHERE ds.status = %(status_won)s),
       COUNT(*) FILTER (WHERE ds.status = %(status_lost)s),
       SUM(ds.cycle) FILTER (WHERE ds.status = %(status_won)s),
       SUM(ds.credit) FILTER (WHERE ds.status = %(status_open)s),
       COUNT(*) FILTER (WHERE ds.status = %(status_open)s),
       SUM(ds.credit * ds.probability / 100) FILTER (WHERE ds.status = %(status_open)s)
FROM ds GROUP BY ds.ms, ds.kind, ds.sid
"""

ACTIVITY_FACTS_SQL = """
INSERT INTO kpis_frun (month, kind, sid, n, calls, emails, meetings, demos)
SELECT date_trunc('month', a.occurred_on)::date, s.kind, s.sid, COUNT(*),
       COUNT(*) FILTER (WHERE a.kind = %(activity_call)s),
       COUNT(*) FILTER (WHERE a.kind = %(activity_email)s),
       COUNT(*) FILTER (WHERE a.kind = %(activity_meeting)s),
       COUNT(*) FILTER (WHERE a.kind = %(activity_demo)s)
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
    JOIN kpis_msub s ON s.member_id = l.owner_id AND s.kind <> %(kind_tenant)s
    UNION ALL
    SELECT %(kind_tenant)s, 0, l.* FROM l
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
    WHERE d.tenant_id = %(t)s AND d.status = %(status_open)s
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

# (name, SQL, may sort): the planner's estimates of these CTE chains are far
# too low, so they run with sorts off and group by hashing (several times
# faster at scale); the stage entries' window needs its sort.
FACT_STATEMENTS = [
    ("deal facts", DEAL_FACTS_SQL, False),
    ("activity facts", ACTIVITY_FACTS_SQL, False),
    ("lead facts", LEAD_FACTS_SQL, False),
    ("pipeline stage facts", PIPELINE_STAGE_FACTS_SQL, False),
    ("stage entries", STAGE_ENTRIES_SQL, True),
    ("stage entry facts", STAGE_ENTRY_FACTS_SQL, False),
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
INSERT INTO kpis_frun (month, kind, sid) SELECT unnest(%(months)s::date[]), %(kind_tenant)s, 0;
DROP TABLE IF EXISTS pg_temp.kpis_fagg, pg_temp.kpis_sfagg, pg_temp.kpis_fstale,
    pg_temp.kpis_sfstale;
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
-- Stale rows are found by an outer join into a temporary table, then deleted
-- by id: a DELETE correlated with a temporary table (NOT EXISTS) is not
-- something a distributed database (Citus) can run.
CREATE TEMP TABLE kpis_fstale ON COMMIT DROP AS
SELECT f.id FROM kpis_monthfact f
LEFT JOIN kpis_fagg r ON r.month = f.month AND r.kind = f.subject_kind AND r.sid = f.subject_id
WHERE f.tenant_id = %(t)s AND f.month = ANY(%(months)s::date[]) AND r.month IS NULL;
CREATE TEMP TABLE kpis_sfstale ON COMMIT DROP AS
SELECT f.id FROM kpis_stagefact f
LEFT JOIN kpis_sfagg r ON r.month = f.month AND r.kind = f.subject_kind AND r.sid = f.subject_id
 AND r.stage_id = f.stage_id
WHERE f.tenant_id = %(t)s AND f.month = ANY(%(months)s::date[]) AND r.month IS NULL;
DELETE FROM kpis_monthfact f USING kpis_fstale x WHERE f.tenant_id = %(t)s AND f.id = x.id;
DELETE FROM kpis_stagefact f USING kpis_sfstale x WHERE f.tenant_id = %(t)s AND f.id = x.id;
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
DROP TABLE kpis_frun, kpis_sfrun, kpis_fagg, kpis_sfagg, kpis_fstale, kpis_sfstale, kpis_entries
"""  # noqa: S608 -- constant column lists

# Months of the run's periods whose facts were never computed (no tenant row).
# Closed months whose facts are stored: frozen, never computed again.
FROZEN_MONTHS_SQL = """
SELECT p.start FROM spm_fiscalperiod p
WHERE p.tenant_id = %(t)s AND p.kind = %(period_month)s AND p.is_closed
  AND EXISTS (
    SELECT 1 FROM kpis_monthfact f
    WHERE f.tenant_id = p.tenant_id AND f.month = p.start
      AND f.subject_kind = %(kind_tenant)s AND f.subject_id = 0
  )
"""

MISSING_MONTHS_SQL = """
-- (NOT IN over the tenant's computed months, a few hundred at most: a subquery
-- correlated with a temporary table is not something Citus can run)
SELECT DISTINCT mp.ms FROM kpis_mp mp
WHERE mp.ms NOT IN (
    SELECT f.month FROM kpis_monthfact f
    WHERE f.tenant_id = %(t)s AND f.subject_kind = %(kind_tenant)s AND f.subject_id = 0
)
"""
