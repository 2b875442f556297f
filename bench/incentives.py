# ruff: noqa: E501 -- long lines are SQL text
"""The incentives benchmark, one command, on the KPI benchmark's data:

    .venv/bin/python bench/incentives.py --db spm_bench_inc [--tenants 10] [--requests 40]

Reuses a database that ``bench/run.py --generate-only --db NAME`` loaded
(10 tenants, 5,000 reps, 2M deals by default), migrates it, and then:

0. (not timed) gives every team a manager, every rep a quarter quota (the
   sum of their months), and everyone one plan: accelerated marginal tiers
   with a cap, a new-business SPIFF and a manager overlay;
1. runs FY2026 Q2 for every tenant (credits, engine, statements and
   explanation lines written), and the reference: one hand-written SQL per
   tenant writing the same lines (checked: same count, same total);
2. runs the quarter again with nothing changed (nothing written);
3. changes one won deal and recomputes its rep's preview statement;
4. measures the statement page and the statements API (p50, p95).

``--tenants N`` uses the first N tenants of the data (a smaller scale on
the same data). Prints a Markdown report for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import backend_cpu  # noqa: E402
from spm.env import env_str  # noqa: E402

QUARTER = {"fiscal_year": 2026, "number": 2}
CAP = "60000.00"
PLAN = {
    "schema_version": 1,
    "name": "Bench AE and managers",
    "effective_from": "2025-01-01",
    "clawback": {"policy": "reverse", "window_days": 60},
    "components": [
        {
            "key": "bookings",
            "measure": "credited_bookings",
            "period": "quarter",
            "payout_frequency": "quarter",
            "rate_table": [
                {"from": "0", "to": "50", "rate": "2"},
                {"from": "50", "to": "100", "rate": "8"},
                {"from": "100", "to": "150", "rate": "12"},
                {"from": "150", "rate": "15"},
            ],
            "cap": {"per_period": CAP},
        },
        {
            "key": "new_logo",
            "measure": "spiff",
            "period": "quarter",
            "payout_frequency": "quarter",
            "spiff": {"amount": "250.00", "deal_type": "new_business"},
        },
        {
            "key": "overlay",
            "measure": "credited_bookings",
            "credit_roles": ["overlay"],
            "period": "quarter",
            "payout_frequency": "quarter",
            "rate_table_on": "amount",
            "rate_table": [{"from": "0", "rate": "0.5"}],
        },
    ],
}

MANAGERS_SQL = """
WITH teams AS (SELECT id FROM spm_team WHERE tenant_id = %(t)s AND manager_id IS NULL ORDER BY id),
u AS (
  INSERT INTO spm_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                        is_active, date_joined)
  SELECT '!', false, 'bm' || %(t)s || '-' || id, 'Manager', 'Team ' || id,
         'bm' || %(t)s || '-' || id || '@bench.test', false, true, now()
  FROM teams RETURNING id, username
),
m AS (
  INSERT INTO spm_membership (tenant_id, user_id, role, title, team_id, start_date, is_active,
                              employee_id)
  SELECT %(t)s, u.id, 'manager', 'Manager', split_part(u.username, '-', 2)::bigint,
         DATE '2024-01-01', true, ''
  FROM u RETURNING id, team_id
)
UPDATE spm_team t SET manager_id = m.id FROM m WHERE t.tenant_id = %(t)s AND t.id = m.team_id
"""

QUARTER_QUOTAS_SQL = """
INSERT INTO goals_quota (tenant_id, period_id, membership_id, team_id, measure, amount, source,
                         updated_at)
SELECT q.tenant_id, %(quarter)s, q.membership_id, NULL, 'bookings', sum(q.amount), 'imported', now()
FROM goals_quota q JOIN spm_fiscalperiod p ON p.tenant_id = q.tenant_id AND p.id = q.period_id
WHERE q.tenant_id = %(t)s AND p.kind = 'month' AND p.start BETWEEN %(start)s AND %(end)s
  AND q.membership_id IS NOT NULL AND q.measure = 'bookings'
  AND NOT EXISTS (SELECT 1 FROM goals_quota x WHERE x.tenant_id = q.tenant_id
                  AND x.period_id = %(quarter)s AND x.membership_id = q.membership_id)
GROUP BY q.tenant_id, q.membership_id
"""

ASSIGN_SQL = """
INSERT INTO incentives_assignment (tenant_id, membership_id, version_id, start_date, end_date,
                                   target_incentive, payout_currency, created_at)
SELECT %(t)s, m.id, %(version)s, DATE '2025-01-01', NULL, 20000, '', now()
FROM spm_membership m WHERE m.tenant_id = %(t)s AND m.role IN ('rep', 'manager')
"""

# The same lines as the engine, by hand: credits (split and overlay, once per
# deal and manager), marginal bands on the quarter's running total, the cap,
# the SPIFF, the overlay; rounded half-up per line, with their explanations.
REFERENCE_SQL = """
INSERT INTO bench_reference_lines
WITH splits AS (
  SELECT d.id AS deal_id, d.name, d.deal_type, s.member_id, s.credited_amount AS amt, d.close_date
  FROM pipeline_deal d JOIN pipeline_dealsplit s ON s.tenant_id = d.tenant_id AND s.deal_id = d.id
  WHERE d.tenant_id = %(t)s AND d.status = 'won' AND d.close_date BETWEEN %(start)s AND %(end)s
),
assigned AS (SELECT membership_id FROM incentives_assignment WHERE tenant_id = %(t)s),
quota AS (SELECT membership_id, amount FROM goals_quota
          WHERE tenant_id = %(t)s AND period_id = %(quarter)s AND measure = 'bookings'),
running AS (
  SELECT s.*, q.amount AS quota,
         sum(s.amt) OVER (PARTITION BY s.member_id ORDER BY s.close_date, s.deal_id
                          ROWS UNBOUNDED PRECEDING) AS cum
  FROM splits s JOIN quota q ON q.membership_id = s.member_id
  WHERE s.member_id IN (SELECT membership_id FROM assigned)
),
bands (band, lo, hi, rate, label) AS (
  VALUES (0, 0.0, 0.5, 2, '0-50%%'), (1, 0.5, 1.0, 8, '50-100%%'),
         (2, 1.0, 1.5, 12, '100-150%%'), (3, 1.5, NULL, 15, '150%%+')
),
tiers AS (
  SELECT r.member_id, r.deal_id, r.name, b.band, b.rate, b.label,
         least(r.cum, coalesce(b.hi * r.quota, 'Infinity')) - greatest(r.cum - r.amt, b.lo * r.quota) AS base
  FROM running r JOIN bands b
    ON r.cum > b.lo * r.quota AND r.cum - r.amt < coalesce(b.hi * r.quota, 'Infinity')
),
commission AS (
  SELECT member_id, deal_id, 'bookings'::text AS component, band, base, rate::numeric AS rate,
         round(base * rate / 100, 2) AS amount,
         format('%%s: %%s x %%s%%%% in band %%s', name, to_char(base, 'FM999,999,999,990.00'), rate, label) AS explanation
  FROM tiers WHERE base > 0
),
capped AS (
  SELECT member_id, NULL::bigint AS deal_id, 'bookings'::text AS component, NULL::int AS band,
         sum(amount) AS base, NULL::numeric AS rate, %(cap)s - sum(amount) AS amount,
         format('cap %%s applied to %%s', %(cap)s, to_char(sum(amount), 'FM999,999,999,990.00')) AS explanation
  FROM commission GROUP BY member_id HAVING sum(amount) > %(cap)s
),
spiff AS (
  SELECT member_id, deal_id, 'new_logo'::text, NULL::int, 1::numeric, 250::numeric, 250.00::numeric,
         format('%%s: SPIFF 250.00 per qualifying deal (new business)', name)
  FROM splits WHERE deal_type = 'new_business' AND member_id IN (SELECT membership_id FROM assigned)
),
overlay AS (
  SELECT managed.manager_id, managed.deal_id, 'overlay'::text, 0, sum(managed.amt), 0.5::numeric,
         round(sum(managed.amt) * 0.5 / 100, 2),
         format('%%s: %%s x 0.5%%%% in band 0.00+', min(managed.name), to_char(sum(managed.amt), 'FM999,999,999,990.00'))
  FROM (
    SELECT DISTINCT s.deal_id, s.name, s.member_id, s.amt, t.manager_id
    FROM splits s
    JOIN spm_membership m ON m.tenant_id = %(t)s AND m.id = s.member_id
    JOIN spm_team mt ON mt.tenant_id = %(t)s AND mt.id = m.team_id
    JOIN spm_team t ON t.tenant_id = %(t)s AND mt.path LIKE t.path || '%%'
                   AND t.manager_id IS NOT NULL AND t.manager_id <> s.member_id
  ) managed
  WHERE managed.manager_id IN (SELECT membership_id FROM assigned)
  GROUP BY managed.manager_id, managed.deal_id
)
SELECT * FROM commission UNION ALL SELECT * FROM capped
UNION ALL SELECT * FROM spiff UNION ALL SELECT * FROM overlay
"""


def _db_url(admin: str, name: str) -> str:
    return urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its database backend: what a step
    costs whatever else the machine runs (wall time is that under load)."""
    return time.process_time(), backend_cpu()


def _cpu_since(start: tuple[float, float]) -> tuple[float, float]:
    now = _cpu()
    return now[0] - start[0], now[1] - start[1]


def _p95(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:  # noqa: PLR0915 -- one script, steps in order
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="spm_bench_inc")
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    admin_url = env_str("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    url = _db_url(admin_url, args.db)
    os.environ["DATABASE_URL"] = url
    os.environ["DATABASE_OWNER_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import override_settings

    from incentives import services
    from incentives.models import CalcRun, Statement, StatementLine
    from pipeline import services as pipeline_services
    from pipeline.models import Deal
    from spm.models import FiscalPeriod, Membership, Tenant
    from spm.services import task_run_create
    from spm.tenancy.context import tenant_context

    call_command("migrate", verbosity=0, interactive=False)
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    tenants = list(Tenant.objects.filter(slug__startswith="bench-").order_by("slug"))[
        : args.tenants
    ]
    quarters = {}
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE incentives_statementline, incentives_statement, incentives_calcrun, "
            "incentives_credit, incentives_adjustment, incentives_assignment, "
            "incentives_component, incentives_planversion, incentives_plan CASCADE"
        )
        c.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS bench_reference_lines (member_id bigint, "
            "deal_id bigint, component text, band int, base numeric, rate numeric, "
            "amount numeric(18,2), explanation text)"
        )
    for tenant in tenants:  # setup, not timed
        with tenant_context(tenant), transaction.atomic(), connection.cursor() as c:
            quarter = FiscalPeriod.objects.get(tenant=tenant, kind="quarter", **QUARTER)
            quarters[tenant.pk] = quarter
            c.execute(MANAGERS_SQL, {"t": tenant.pk})
            c.execute(
                QUARTER_QUOTAS_SQL,
                {"t": tenant.pk, "quarter": quarter.pk, "start": quarter.start, "end": quarter.end},
            )
            version = services.plan_version_create(tenant, source=PLAN, actor=None, status="active")
            c.execute(ASSIGN_SQL, {"t": tenant.pk, "version": version.pk})
    with connection.cursor() as c:
        c.execute("ANALYZE")
        c.execute(
            "SELECT count(*) FILTER (WHERE status = 'won' AND close_date BETWEEN %s AND %s), "
            "count(*) FROM pipeline_deal WHERE tenant_id = ANY(%s)",
            [quarters[tenants[0].pk].start, quarters[tenants[0].pk].end, [t.pk for t in tenants]],
        )
        won_in_quarter, deals = c.fetchone()
        c.execute(
            "SELECT count(*) FILTER (WHERE role = 'rep'), count(*) FILTER (WHERE role = 'manager') "
            "FROM spm_membership WHERE tenant_id = ANY(%s)",
            [[t.pk for t in tenants]],
        )
        reps, managers = c.fetchone()

    def run_all() -> tuple[float, int, list[CalcRun], tuple[float, float]]:
        cpu = _cpu()
        started = time.perf_counter()
        runs = []
        for tenant in tenants:
            with tenant_context(tenant):
                quarter = quarters[tenant.pk]
                task = task_run_create(
                    tenant, kind="incentives.calc_run", label="bench", created_by=None
                )
                run = CalcRun.objects.create(tenant=tenant, period=quarter, task_run=task)
                runs.append(services.calc_run_execute(tenant, run_id=run.pk))
        took = time.perf_counter() - started
        return took, sum(r.lines_written for r in runs), runs, _cpu_since(cpu)

    first_s, first_lines, runs, first_cpu = run_all()
    ref_s = 0.0
    ref_cpu = 0.0
    ref_lines = 0
    mismatches = []
    for tenant, run in zip(tenants, runs, strict=True):
        quarter = quarters[tenant.pk]
        with tenant_context(tenant), connection.cursor() as c:
            c.execute("TRUNCATE bench_reference_lines")
            backend = backend_cpu()
            started = time.perf_counter()
            with transaction.atomic():
                c.execute(
                    REFERENCE_SQL,
                    {
                        "t": tenant.pk,
                        "quarter": quarter.pk,
                        "start": quarter.start,
                        "end": quarter.end,
                        "cap": Decimal(CAP),
                    },
                )
                ref_lines += c.rowcount
            ref_s += time.perf_counter() - started
            ref_cpu += backend_cpu() - backend
            c.execute("SELECT count(*), coalesce(sum(amount), 0) FROM bench_reference_lines")
            ref_count, ref_total = c.fetchone()
            engine = StatementLine.objects.filter(tenant=tenant, statement__run=run).exclude(
                kind="gate"
            )
            engine_total = sum(engine.values_list("amount", flat=True), Decimal("0"))
            if (engine.count(), engine_total) != (ref_count, ref_total):
                mismatches.append((tenant.slug, engine.count(), engine_total, ref_count, ref_total))
    again_s, again_lines, _, again_cpu = run_all()

    # 3. One won deal of the quarter changes: its rep's preview statement.
    tenant = tenants[0]
    quarter = quarters[tenant.pk]
    with tenant_context(tenant):
        deal = (
            Deal.objects.filter(
                tenant=tenant, status="won", close_date__range=(quarter.start, quarter.end)
            )
            .order_by("id")
            .first()
        )
        pipeline_services.deal_update(tenant, deal=deal, actor=None, amount=deal.amount + 1000)
        rep = Membership.objects.get(tenant=tenant, pk=deal.owner_id)
        previews = []
        preview_cpu = []
        for _ in range(5):
            cpu = _cpu()
            started = time.perf_counter()
            lines, total = services.statement_preview(tenant, period=quarter, membership=rep)
            previews.append(time.perf_counter() - started)
            preview_cpu.append(sum(_cpu_since(cpu)))
        statement = Statement.objects.get(tenant=tenant, run=runs[0], membership=rep)
        finance = Membership.objects.filter(tenant=tenant, role="finance").first()
        if finance is None:
            from spm import services as spm_services

            finance = spm_services.membership_add(
                tenant,
                email="finance@bench.test",
                first_name="Bench",
                last_name="Finance",
                role="finance",
            )

    # 4. Pages and endpoints.
    paths = [
        (
            "statement page (the rep's own)",
            rep,
            f"/{tenant.slug}/incentives/statements/{statement.pk}/",
        ),
        (
            "API statements of the quarter (finance, first page)",
            finance,
            f"/api/v1/{tenant.slug}/statements/?period={quarter.pk}",
        ),
        (
            "API statement lines of one statement (rep)",
            rep,
            f"/api/v1/{tenant.slug}/statement-lines/?statement={statement.pk}",
        ),
        (
            "API statements (rep, own)",
            rep,
            f"/api/v1/{tenant.slug}/statements/?period={quarter.pk}",
        ),
    ]
    timings = []
    with override_settings(ALLOWED_HOSTS=["*"]):
        for label, member, path in paths:
            client = Client()
            client.force_login(member.user)
            times = []
            cpu_times = []
            for _ in range(args.requests):
                cpu = _cpu()
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                cpu_times.append(sum(_cpu_since(cpu)) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{path} answered {response.status_code}")
            timings.append((label, *_p95(times), *_p95(cpu_times)))

    say(f"## Incentives run of {time.strftime('%Y-%m-%d %H:%M')} UTC")
    say()
    say(
        f"Data: {len(tenants)} tenants, {deals:,} deals ({won_in_quarter:,} of them won in FY2026 "
        f"Q2), {reps:,} reps, {managers:,} managers; every member on one plan "
        "(marginal tiers 2/8/12/15% with an accelerator, a 60,000.00 cap per quarter, a 250.00 "
        "new-business SPIFF, a 0.5% manager overlay)."
    )
    say()
    load = os.getloadavg()[0]
    say(
        f"Load average when the report was printed: {load:.1f} on {os.cpu_count()} cores. "
        "CPU is the seconds of this process plus its PostgreSQL backend (from /proc): "
        "what the step costs, whatever else the machine runs."
    )
    say()
    say("| measure | wall | CPU (process + database) | target |")
    say("|---|---|---|---|")
    say(
        f"| run of FY2026 Q2, every tenant: credits, engine, {first_lines:,} lines written with explanations | {first_s:.2f} s | {first_cpu[0]:.2f} + {first_cpu[1]:.2f} = {sum(first_cpu):.2f} s | |"
    )
    say(
        f"| reference: one hand-written SQL per tenant writing the same {ref_lines:,} lines | {ref_s:.2f} s | {ref_cpu:.2f} s (database) | |"
    )
    say(
        f"| ratio run / reference | **{first_s / ref_s:.2f}x** | **{sum(first_cpu) / ref_cpu:.2f}x** | within 2x |"
        if ref_cpu
        else f"| ratio run / reference | **{first_s / ref_s:.2f}x** | | within 2x |"
    )
    say(f"| lines equal to the reference (count and total per tenant) | {mismatches or 'yes'} | |")
    say(
        f"| second run, nothing changed ({again_lines} lines written) | {again_s:.2f} s = **{again_s / first_s:.2f}x** | {sum(again_cpu):.2f} s = **{sum(again_cpu) / sum(first_cpu):.2f}x** | < 0.5x, nothing written |"
    )
    say(
        f"| one deal changed: its rep's preview statement ({len(lines)} lines, total {total}), median / max of 5 | {statistics.median(previews):.3f} / {max(previews):.3f} s | {statistics.median(preview_cpu):.3f} / {max(preview_cpu):.3f} s | < 1 s |"
    )
    for label, p50, p95, cpu50, cpu95 in timings:
        say(
            f"| {label}: p50 / p95 | {p50:.1f} / **{p95:.1f} ms** | {cpu50:.1f} / **{cpu95:.1f} ms** | p95 < 150 ms |"
        )


if __name__ == "__main__":
    main()
