"""The run's temporary tables (periods, members, subjects) and the snapshot
writes: a run collects its values into ``kpis_run``, one hash full join finds
what changed, and only that is written."""

# Members, the subjects each member's figures roll up into (themselves, every
# team above them, the tenant), and the periods of the run: built once per run
# into small temporary tables (analysed, so the planner knows their sizes and
# joins them by hash), which every statement reads through the CTEs of BASE_CTES.
SETUP_SQL = """
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
    SELECT m.id AS member_id, %(kind_member)s::text AS kind, m.id AS sid FROM kpis_m m
    UNION ALL
    SELECT m.id, %(kind_team)s, a.id
    FROM kpis_m m JOIN kpis_teams t ON t.id = m.team_id
    JOIN kpis_teams a ON t.path LIKE a.path || '%%'
    UNION ALL
    SELECT m.id, %(kind_tenant)s, 0 FROM kpis_m m;
CREATE TEMP TABLE kpis_subj ON COMMIT DROP AS
    SELECT p.id AS pid, %(kind_member)s::text AS kind, m.id AS sid
    FROM kpis_p p JOIN kpis_m m
      ON m.start_date <= p."end" AND (m.end_date IS NULL OR m.end_date >= p.start)
    UNION ALL SELECT p.id, %(kind_team)s, t.id FROM kpis_p p CROSS JOIN kpis_teams t
    UNION ALL SELECT p.id, %(kind_tenant)s, 0 FROM kpis_p p;
ANALYZE kpis_p, kpis_mp, kpis_m, kpis_teams, kpis_msub, kpis_subj
"""

BASE_CTES = """
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
RUN_TABLE_SQL = """
DROP TABLE IF EXISTS pg_temp.kpis_run;
CREATE TEMP TABLE kpis_run (
    period_id bigint NOT NULL, subject_kind varchar(8) NOT NULL, subject_id bigint NOT NULL,
    kpi varchar(80) NOT NULL, value numeric
) ON COMMIT DROP
"""

COLLECT_SQL = """
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

# Changed values are updated in place (by the primary key, tenant first); new
# ones are inserted. The period's advisory lock keeps other runs out, so the
# ON CONFLICT never fires: it is there because Citus runs an INSERT ... SELECT
# from a temporary table into a table under RLS only in that form.
UPDATE_SQL = """
UPDATE kpis_kpivalue v SET value = d.value, computed_at = now()
FROM kpis_diff d
WHERE v.tenant_id = %s AND v.id = d.stored_id AND d.stored_id IS NOT NULL AND d.kpi IS NOT NULL
"""

INSERT_SQL = """
INSERT INTO kpis_kpivalue (tenant_id, period_id, subject_kind, subject_id, kpi, value, computed_at)
SELECT %s, r.period_id, r.subject_kind, r.subject_id, r.kpi, r.value, now()
FROM kpis_diff r WHERE r.stored_id IS NULL
ORDER BY r.period_id, r.subject_kind, r.subject_id, r.kpi
ON CONFLICT (tenant_id, period_id, subject_kind, subject_id, kpi) DO NOTHING
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
