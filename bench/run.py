"""The KPI benchmark, one command:

    .venv/bin/python bench/run.py [--deals 2000000] [--reps 5000] [--tenants 10]

Creates a fresh database (``--db``, default ``spm_bench``) on the server of
``BENCH_ADMIN_URL`` (default postgres://postgres@127.0.0.1:5432/postgres),
migrates it, generates the data set in SQL (bench/generate.py), then measures
on the same data (``--reuse`` keeps a database generated earlier and only
empties the KPI snapshot; ``--generate-only`` stops after the load):

1. the full recompute of every KPI for every tenant and period (the engine);
2. the reference: the fastest hand-written single SQL for bookings and
   attainment per rep-month, and the ratio engine / reference;
3. an incremental recompute after one deal changes (dirty periods only);
4. server time of the rep dashboard and a report endpoint (p50, p95).

Prints a Markdown report (paste it into bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from spm.env import env_str

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REFERENCE_SQL = """
WITH p AS (SELECT id, start, "end", ("end" - start + 1) AS days FROM spm_fiscalperiod
           WHERE tenant_id = %(t)s AND kind = 'month'),
b AS (
  SELECT p.id AS pid, sp.member_id, SUM(sp.credited_amount) AS bookings
  FROM pipeline_deal d JOIN pipeline_dealsplit sp ON sp.deal_id = d.id
  JOIN p ON d.close_date BETWEEN p.start AND p."end"
  WHERE d.tenant_id = %(t)s AND d.status = 'won'
  GROUP BY p.id, sp.member_id
)
SELECT count(*), sum(b.bookings), sum(b.bookings / NULLIF(q.amount, 0))
FROM b LEFT JOIN goals_quota q ON q.tenant_id = %(t)s AND q.period_id = b.pid
 AND q.membership_id = b.member_id AND q.measure = 'bookings'
"""


def _db_url(admin: str, name: str) -> str:
    parts = urlsplit(admin)
    return urlunsplit(parts._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--reps", type=int, default=5000)
    parser.add_argument("--deals", type=int, default=2_000_000)
    parser.add_argument("--activities", type=int, default=4, help="per rep and month")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--db", default="spm_bench")
    parser.add_argument("--reuse", action="store_true", help="keep the generated data")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()

    admin = env_str("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    import psycopg

    if not args.reuse:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.db}"')
    url = _db_url(admin, args.db)
    os.environ["DATABASE_URL"] = url
    os.environ["DATABASE_OWNER_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from bench.generate import generate
    from kpis import engine, services
    from pipeline import services as pipeline_services
    from pipeline.models import Deal
    from spm.models import FiscalPeriod, Membership, Tenant
    from spm.tenancy.context import tenant_context

    call_command("migrate", verbosity=0, interactive=False)
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if not args.reuse:
        timings = generate(
            tenants=args.tenants,
            reps=args.reps,
            deals=args.deals,
            activities_per_rep_month=args.activities,
        )
    gen_s = time.perf_counter() - t0
    if args.generate_only:
        say(
            f"Generated in {gen_s:.1f} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        )
        return
    with connection.cursor() as c:
        # Measure from an empty snapshot, however the database was left.
        c.execute("TRUNCATE kpis_kpivalue, kpis_dirtyperiod, kpis_monthfact, kpis_stagefact")
        c.execute("VACUUM ANALYZE kpis_kpivalue, kpis_monthfact, kpis_stagefact")
    with connection.cursor() as c:
        counts = {}
        for table in (
            "pipeline_deal",
            "pipeline_dealsplit",
            "pipeline_stagechange",
            "goals_quota",
            "pipeline_activity",
            "spm_membership",
            "spm_team",
        ):
            c.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
            counts[table] = c.fetchone()[0]
    say(f"## Run of {time.strftime('%Y-%m-%d %H:%M')}")
    say()
    say(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, PostgreSQL local"
    )
    say(f"Data: {args.tenants} tenants, " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    say(
        f"Generated in {gen_s:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + ")"
    )
    say()

    tenants = list(Tenant.objects.filter(slug__startswith="bench-").order_by("slug"))

    # 1. Full recompute (engine): from an empty snapshot, then again with
    # nothing changed (the nightly run's usual case: it writes nothing).
    def full_run() -> tuple[float, int, int]:
        started = time.perf_counter()
        values, computed = 0, 0
        for tenant in tenants:
            run = services.kpi_recompute_full(tenant)
            values += run.rows
            computed += run.result["periods"]
        return time.perf_counter() - started, values, computed

    full_s, rows, computed_periods = full_run()
    again_s, _rows_again, _ = full_run()
    periods = 0
    for tenant in tenants:
        with tenant_context(tenant):
            periods += FiscalPeriod.objects.filter(tenant=tenant).count()
    # 2. Reference: bookings + attainment per rep-month, one SQL per tenant.
    t0 = time.perf_counter()
    for tenant in tenants:
        with tenant_context(tenant), connection.cursor() as c:
            c.execute(REFERENCE_SQL, {"t": tenant.pk})
            c.fetchall()
    ref_s = time.perf_counter() - t0
    kpis_per_subject = 13 + 5 + 5 + 1  # deals group, activities, leads, retention (+ stage keys)
    say("| measure | seconds |")
    say("|---|---|")
    say(
        f"| full recompute from an empty snapshot, all KPIs, all tenants, "
        f"{computed_periods} of {periods} tenant-periods (the rest skipped), "
        f"{rows:,} values written | {full_s:.2f} |"
    )
    say(f"| full recompute again, nothing changed (nothing written) | {again_s:.2f} |")
    say(f"| reference: bookings + attainment per rep-month, single SQL per tenant | {ref_s:.2f} |")
    for label, seconds in (("empty snapshot", full_s), ("nothing changed", again_s)):
        say(
            f"| ratio full / reference ({label}): total; per KPI computed "
            f"({kpis_per_subject} KPIs + stage keys, all period kinds) | "
            f"{seconds / ref_s:.1f}x; {seconds / ref_s / kpis_per_subject:.2f}x |"
        )

    # 3. Incremental after one deal changes: a won deal in every fourth month
    # of the data, one at a time (each change, then its recompute).
    tenant = tenants[0]
    with tenant_context(tenant), connection.cursor() as c:
        c.execute(
            "SELECT DISTINCT ON (date_trunc('month', close_date)) id FROM pipeline_deal "
            "WHERE tenant_id = %s AND status = 'won' "
            "ORDER BY date_trunc('month', close_date), id",
            [tenant.pk],
        )
        picks = [row[0] for row in c.fetchall()][::4]
    runs: list[tuple[float, int, dict[str, float]]] = []
    for deal_id in picks:
        with tenant_context(tenant):
            deal = Deal.objects.get(tenant=tenant, pk=deal_id)
            pipeline_services.deal_update(tenant, deal=deal, actor=None, amount=deal.amount + 100)
        # (the DealChanged receiver queued the periods after commit)
        t0 = time.perf_counter()
        run = services.kpi_recompute_dirty(tenant)
        runs.append(
            (
                time.perf_counter() - t0,
                len(run.result["periods"]) if run else 0,
                dict(engine.last_seconds),
            )
        )
    inc = sorted(r[0] for r in runs)
    slowest = max(runs, key=lambda r: r[0])
    say(
        f"| incremental recompute after one deal changed, {len(runs)} deals in different "
        f"months, one at a time ({', '.join(f'{r[0]:.3f}' for r in runs)} s; "
        f"{slowest[1]} periods each): median / max; engine steps of the slowest "
        f"{slowest[2]} | {statistics.median(inc):.3f} / {inc[-1]:.3f} |"
    )

    # 4. Server time of pages and report endpoints.
    from spm import services as spm_services
    from spm.models import Team

    with tenant_context(tenant):
        rep = Membership.objects.filter(tenant=tenant, role="rep").select_related("user").first()
        quarter = FiscalPeriod.objects.get(
            tenant=tenant, kind="quarter", fiscal_year=2026, number=2
        )
        root = Team.objects.get(tenant=tenant, parent=None)
        region = Team.objects.filter(tenant=tenant, parent=root).order_by("path").first()
        leaf = rep.team
        admin = Membership.objects.filter(tenant=tenant, role="admin").first()
        if admin is None:
            admin = spm_services.membership_add(
                tenant,
                email="admin@bench.test",
                first_name="Bench",
                last_name="Admin",
                role="admin",
            )
    from django.test.utils import override_settings

    q = f"period={quarter.pk}"
    pages = {
        "rep": (
            ("rep dashboard page", f"/{tenant.slug}/kpis/reps/{rep.pk}/?{q}"),
            ("leaderboard page", f"/{tenant.slug}/kpis/leaderboards/?{q}"),
            ("API kpi-values (rep, one period)", f"/api/v1/{tenant.slug}/kpi-values/?{q}"),
            ("API scorecard", f"/api/v1/{tenant.slug}/kpi-reports/scorecard/?{q}"),
            (
                "API series (rep, months of a year)",
                f"/api/v1/{tenant.slug}/kpi-reports/series/?kpi=bookings,quota"
                "&period_kind=month&fiscal_year=2026",
            ),
            (
                "API leaderboard (every rep of the tenant)",
                f"/api/v1/{tenant.slug}/kpi-reports/leaderboard/?kpi=bookings&{q}",
            ),
        ),
        "admin": (
            ("team dashboard, a leaf team", f"/{tenant.slug}/kpis/teams/{leaf.pk}/?{q}"),
            ("team dashboard, a region", f"/{tenant.slug}/kpis/teams/{region.pk}/?{q}"),
            ("team dashboard, the company root team", f"/{tenant.slug}/kpis/teams/{root.pk}/?{q}"),
            ("company overview page", f"/{tenant.slug}/kpis/overview/?{q}"),
        ),
    }
    with override_settings(ALLOWED_HOSTS=["*"]):
        for who, user in (("rep", rep.user), ("admin", admin.user)):
            client = Client()
            client.force_login(user)
            for label, path in pages[who]:
                times = []
                for _ in range(args.requests):
                    t0 = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    if response.status_code != 200:
                        raise SystemExit(f"{path} answered {response.status_code}")
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                say(f"| {label}: p50 / p95 ms | {statistics.median(times):.1f} / {p95:.1f} |")


if __name__ == "__main__":
    main()
