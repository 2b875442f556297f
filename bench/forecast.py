"""The forecasting benchmark, one command:

    .venv/bin/python bench/forecast.py [--deals 2000000] [--reps 5000] [--tenants 10]

Creates a fresh database (``--db``, default ``spm_bench_forecast``; ``--reuse``
keeps one generated earlier), loads the scale data set of bench/generate.py,
then measures:

1. the nightly statistical forecast of every tenant (the quarter of
   ``--as-of``, fitted on the history known that day, simulated and stored,
   each tenant in its own transaction, commit included), run as the workers
   run it: one task per tenant on ``--workers`` processes (default: the
   machine's cores, the worker's concurrency), first on a quarter with no
   rows yet, then the following night (the next day, every deal's odds
   row in place to be updated);
   besides the wall time, the CPU seconds of the tenant's process and of its
   database backend (read from /proc: the load of other programs on the
   machine does not count in them);
2. one deal's change: the refresh that scores it again from the stored fit
   and re-simulates every subject of its tenant (median of 5);
3. the backtest of six quarters as of week 4: the mean accuracy of the
   weighted pipeline and of the statistical forecast per team.

Prints a Markdown report (paste it into bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from spm.env import env_str

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import backend_cpu  # noqa: E402


def _setup(url: str) -> None:
    """A worker process: Django on the benchmark database."""
    os.environ["DATABASE_URL"] = url
    os.environ["DATABASE_OWNER_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
    import django

    django.setup()


def nightly_one(tenant_id: int, day_iso: str) -> tuple[float, float, float, int]:
    """One tenant's nightly run, as its task runs it (its own transaction,
    commit included): wall seconds, process CPU, backend CPU, deals scored."""
    from django.db import transaction

    from pipeline.forecast.stats import stat_forecast_compute
    from spm.models import FiscalPeriod, Tenant
    from spm.tenancy.context import tenant_context

    tenant = Tenant.objects.get(pk=tenant_id)
    day = dt.date.fromisoformat(day_iso)
    backend = backend_cpu()
    cpu, wall = time.process_time(), time.perf_counter()
    with transaction.atomic(), tenant_context(tenant):
        quarter = FiscalPeriod.objects.get(
            tenant=tenant, kind="quarter", start__lte=day, end__gte=day
        )
        run = stat_forecast_compute(tenant, period=quarter, day=day)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, backend_cpu() - backend, run.deals


def nightly(url: str, tenant_ids: list[int], day: dt.date, workers: int) -> str:
    """Every tenant's nightly run on ``workers`` processes; a report line."""
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_setup, initargs=(url,)
    ) as pool:
        # Every process up (Django set up) before the clock starts.
        for warm in [pool.submit(time.sleep, 0.5) for _ in range(workers)]:
            warm.result()
        started = time.perf_counter()
        results = list(pool.map(nightly_one, tenant_ids, [day.isoformat()] * len(tenant_ids)))
        took = time.perf_counter() - started
    walls = [r[0] for r in results]
    return (
        f"**{took:.1f} s** wall on {workers} worker processes ({sum(r[3] for r in results):,} "
        f"open deals scored, 1,000 simulations); per tenant wall median "
        f"{statistics.median(walls):.2f} s, max {max(walls):.2f} s; CPU per tenant median "
        f"{statistics.median(r[1] for r in results):.2f} s in Python + "
        f"{statistics.median(r[2] for r in results):.2f} s in PostgreSQL, all tenants "
        f"{sum(r[1] + r[2] for r in results):.1f} CPU s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--reps", type=int, default=5000)
    parser.add_argument("--deals", type=int, default=2_000_000)
    parser.add_argument("--db", default="spm_bench_forecast")
    parser.add_argument("--reuse", action="store_true", help="keep the generated data")
    parser.add_argument("--as-of", default="2026-05-15", help="the nightly run's day")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-backtest", action="store_true", help="measure 1 and 2 only")
    args = parser.parse_args()

    admin = env_str("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    import psycopg

    if not args.reuse:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.db}"')
    url = admin.rsplit("/", 1)[0] + f"/{args.db}"
    os.environ["DATABASE_URL"] = url
    os.environ["DATABASE_OWNER_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.generate import generate
    from pipeline.forecast.backtest import accuracy_summary, backtest_period
    from pipeline.forecast.stats import stat_forecast_refresh
    from pipeline.models import AsOfPoint, DealOdds, SubjectKind
    from spm.models import FiscalPeriod, Tenant
    from spm.tenancy.context import tenant_context

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    if not args.reuse:
        generate(tenants=args.tenants, reps=args.reps, deals=args.deals, activities_per_rep_month=1)
    generated = time.perf_counter() - started
    day = dt.date.fromisoformat(args.as_of)
    tenants = list(Tenant.objects.filter(slug__startswith="bench-").order_by("slug"))
    print(f"## Forecasting run of {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(
        f"Data: {len(tenants)} tenants, {args.reps:,} reps, {args.deals:,} deals "
        f"(generated in {generated:.0f} s); as of {day}\n"
    )

    # 1. Nightly, a quarter with no rows yet, then the following night.
    ids = [t.pk for t in tenants]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pipeline_dealodds")
        cursor.execute("DELETE FROM pipeline_statforecast")
    print(f"- nightly statistical forecast, all tenants: {nightly(url, ids, day, args.workers)}")
    following = nightly(url, ids, day + dt.timedelta(days=1), args.workers)
    print(f"- the following night (the next day, the odds rows in place): {following}")

    # 2. One deal's change.
    tenant = tenants[0]
    refreshes = []
    with tenant_context(tenant):
        quarter = FiscalPeriod.objects.get(
            tenant=tenant, kind="quarter", start__lte=day, end__gte=day
        )
        deal_ids = list(
            DealOdds.objects.filter(tenant=tenant, period=quarter)
            .order_by("deal_id")
            .values_list("deal_id", flat=True)[:5]
        )
    for deal_id in deal_ids:
        one = time.perf_counter()
        with transaction.atomic(), tenant_context(tenant):
            stat_forecast_refresh(tenant, period=quarter, deal_ids=[deal_id])
        refreshes.append(time.perf_counter() - one)
    print(
        f"- one deal's change, refresh of its tenant's forecast (every team and "
        f"the company): median **{statistics.median(refreshes):.2f} s**, max {max(refreshes):.2f} s"
    )

    # 3. Backtest, six quarters as of week 4.
    if args.no_backtest:
        return
    one = time.perf_counter()
    rows: dict[str, list[tuple[Decimal, Decimal, int]]] = {"weighted": [], "statistical": []}
    for tenant in tenants:
        with transaction.atomic(), tenant_context(tenant):
            quarters = list(
                FiscalPeriod.objects.filter(
                    tenant=tenant, kind="quarter", end__lt=dt.date(2026, 12, 1),
                    start__gte=dt.date(2025, 4, 1),
                ).order_by("-start")[:6]
            )  # fmt: skip
            for q in quarters:
                backtest_period(tenant, period=q, points=[AsOfPoint.WEEK_4])
            for s in accuracy_summary(
                tenant, point=AsOfPoint.WEEK_4, subject_kind=SubjectKind.TEAM,
                period_ids=[q.pk for q in quarters],
            ):  # fmt: skip
                if s.method in rows and s.accuracy is not None and s.bias is not None:
                    rows[s.method].append((s.accuracy, s.bias, s.subjects))
    took = time.perf_counter() - one
    print(f"- backtest, six quarters as of week 4, all tenants: {took:.1f} s")
    for method, found in rows.items():
        n = sum(x[2] for x in found)
        accuracy = sum(x[0] * x[2] for x in found) / n if n else Decimal(0)
        bias = sum(x[1] * x[2] for x in found) / n if n else Decimal(0)
        print(
            f"  - {method}: mean team accuracy {accuracy:.4f}, bias {bias:+.4f} ({n} team-quarters)"
        )


if __name__ == "__main__":
    main()
