"""Layer 2: every period of a run derived from the stored facts of its months,
with quotas and retention read per period, and custom formula KPIs."""

from __future__ import annotations

from kpis.engine.base import BASE_CTES

VALUES_SQL = (
    "WITH"  # noqa: S608 -- constant SQL text, values go as parameters
    + BASE_CTES
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
    -- quotas touching the run, members' prorated to active days (docs/formulas.md section 1)
    SELECT x.k, x.start, x."end",
           CASE
             WHEN x.member_id IS NULL THEN x.amount
             WHEN x.n >= x."end" - x.start + 1 THEN x.amount
             ELSE ROUND(x.amount * x.n / (x."end" - x.start + 1), 2)
           END AS amount
    FROM (
        SELECT COALESCE(q.membership_id, -q.team_id) AS k, q.membership_id AS member_id,
               q.amount, c.start, c."end",
               GREATEST(0, LEAST(c."end", COALESCE(mm.end_date, c."end"))
                           - GREATEST(c.start, COALESCE(mm.start_date, c.start)) + 1)::numeric
                   AS n
        FROM goals_quota q
        JOIN spm_fiscalperiod c ON c.tenant_id = q.tenant_id AND c.id = q.period_id
        LEFT JOIN spm_membership mm ON mm.tenant_id = q.tenant_id AND mm.id = q.membership_id
        WHERE q.tenant_id = %(t)s AND q.measure = %(measure_bookings)s
          AND c.start >= %(lo)s::date AND c."end" <= %(hi)s::date
    ) x
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
    FROM mq JOIN m ON m.id = mq.member_id AND m.role = %(role_rep)s
    JOIN msub s ON s.member_id = mq.member_id AND s.kind = %(kind_team)s
    GROUP BY mq.pid, s.sid
),
tq AS (
    SELECT COALESCE(e.pid, u.pid) AS pid, COALESCE(e.team_id, u.team_id) AS team_id,
           COALESCE(e.amount, u.amount) AS amount
    FROM (SELECT pid, -k AS team_id, amount FROM qp WHERE k < 0) e
    FULL JOIN tq_up u ON u.pid = e.pid AND u.team_id = e.team_id
),
quotas AS (
    SELECT pid, %(kind_member)s::text AS kind, member_id AS sid, amount FROM mq
    UNION ALL SELECT pid, %(kind_team)s, team_id, amount FROM tq
    UNION ALL
    SELECT pid, %(kind_tenant)s, 0, SUM(amount) FROM (
        SELECT tq.pid, tq.amount FROM tq JOIN teams t ON t.id = tq.team_id AND t.parent_id IS NULL
        UNION ALL
        SELECT mq.pid, mq.amount FROM mq
        JOIN m ON m.id = mq.member_id AND m.role = %(role_rep)s AND m.team_id IS NULL
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
    + BASE_CTES
    + """,
acc AS (
    SELECT a.owner_id, a.customer_since, a.churned_on FROM pipeline_account a
    WHERE a.tenant_id = %(t)s AND a.customer_since IS NOT NULL AND a.customer_since <= %(hi)s::date
      AND (a.churned_on IS NULL OR a.churned_on > %(lo)s::date)
),
accs AS (
    SELECT s.kind, s.sid, acc.* FROM acc
    JOIN msub s ON s.member_id = acc.owner_id AND s.kind <> %(kind_tenant)s
    UNION ALL
    SELECT %(kind_tenant)s, 0, acc.* FROM acc
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
    + BASE_CTES
    + """,
sf AS (
    SELECT mp.pid, f.subject_kind AS kind, f.subject_id AS sid, f.stage_id,
           SUM(f.open_amount) AS raw, ROUND(SUM(f.weighted), 2) AS weighted,
           SUM(CASE p.kind WHEN %(period_month)s THEN f.entered_month
                           WHEN %(period_quarter)s THEN f.entered_quarter
                           ELSE f.entered_year END) AS n,
           SUM(CASE p.kind WHEN %(period_month)s THEN f.converted_month
                           WHEN %(period_quarter)s THEN f.converted_quarter
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
