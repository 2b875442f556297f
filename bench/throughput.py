"""Recompute throughput with the worker's memory and connections watched, one
command:

    .venv/bin/python bench/throughput.py --db spm_bench_full [--concurrency 2]

Needs a database that ``bench/run.py --generate-only`` loaded and
``bench/load.py`` (or ``bench/incentives.py``) prepared: a plan for everyone
and an admin per benchmark tenant. The script

1. starts a real ``celery worker`` (prefork, ``--concurrency`` children) on a
   queue of its own, as ``make worker`` does;
2. queues, as the pages' buttons do, a full KPI recompute of every tenant
   (``kpi_recompute_request``) and a calculation run of FY2026 Q2 for every
   tenant (``calc_run_start``; the quarter's unpublished previews are removed
   first, so each run computes and writes its lines);
3. until every one of those runs has finished, samples every 0.2 s the
   resident memory of the worker's processes (from /proc) and the
   connections open to the database (``pg_stat_activity``).

Prints a Markdown report for bench/RESULTS.md: the wall time, the runs and
rows, the peak memory of a worker child and of the whole worker beside the
size of the data, and the peak number of connections.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.incentives import QUARTER  # noqa: E402
from bench.jobs import previews_clear, worker_start, worker_stop  # noqa: E402
from spm.env import env_str  # noqa: E402

QUEUE = "spm-bench-throughput"
PAGE = os.sysconf("SC_PAGE_SIZE")


def _db_url(admin: str, name: str) -> str:
    return urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))


def _worker_processes(pid: int) -> list[int]:
    """The worker's main process and its pool's children (from /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def _rss_mb(pid: int) -> float:
    try:
        resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return resident * PAGE / 2**20


def main() -> None:  # noqa: PLR0915 -- one script, steps in order
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="spm_bench_full")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    admin = env_str("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    url = _db_url(admin, args.db)
    os.environ.update(DATABASE_URL=url, DATABASE_OWNER_URL=url, CELERY_QUEUE=QUEUE)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
    import django

    django.setup()
    from django.db import connection

    from incentives.models import CalcRun
    from incentives.services import calc_run_start
    from kpis.services import kpi_recompute_request
    from spm.models import FiscalPeriod, Membership, Role, TaskRun, Tenant
    from spm.tenancy.context import tenant_context

    tenants = list(Tenant.objects.filter(slug__startswith="bench-").order_by("slug"))
    with connection.cursor() as c:
        c.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('pipeline_deal') "
            "+ pg_total_relation_size('pipeline_dealsplit') "
            "+ pg_total_relation_size('pipeline_stagechange')), "
            "(SELECT count(*) FROM pipeline_deal)"
        )
        data_size, deals = c.fetchone()
    # The quarter's previews go, so every run computes and writes.
    previews_clear([t.pk for t in tenants])
    log = Path(tempfile.mkdtemp(prefix="spm-bench-throughput-")) / "worker.log"
    worker = worker_start(url, queue=QUEUE, concurrency=args.concurrency, log=log)

    started = time.perf_counter()
    runs: list[int] = []
    for tenant in tenants:
        with tenant_context(tenant):
            admin_member = Membership.objects.filter(tenant=tenant, role=Role.ADMIN).first()
            if admin_member is None:
                raise SystemExit(f"{tenant.slug} has no admin: run bench/load.py first")
            quarter = FiscalPeriod.objects.get(tenant=tenant, kind="quarter", **QUARTER)
            runs.append(kpi_recompute_request(tenant, actor=admin_member).pk)
            runs.append(calc_run_start(tenant, period=quarter, actor=admin_member).task_run_id)

    peak_child, peak_total, peak_connections, samples = 0.0, 0.0, 0, 0
    finished = TaskRun.Status.SUCCEEDED, TaskRun.Status.FAILED
    while True:
        pids = _worker_processes(worker.pid)
        sizes = [_rss_mb(pid) for pid in pids]
        peak_total = max(peak_total, sum(sizes))
        peak_child = max(peak_child, max(sizes[1:], default=0.0))
        with connection.cursor() as c:
            c.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            peak_connections = max(peak_connections, c.fetchone()[0])
            c.execute("SELECT count(*) FROM spm_taskrun WHERE id = ANY(%s) AND status = ANY(%s)",
                      [runs, list(finished)])  # fmt: skip
            done = c.fetchone()[0]
        samples += 1
        if done == len(runs):
            break
        time.sleep(0.2)
    took = time.perf_counter() - started
    worker_stop(worker)

    outcome = list(TaskRun.all_tenants.filter(pk__in=runs).values_list("kind", "status", "rows"))
    failed = [r for r in outcome if r[1] != TaskRun.Status.SUCCEEDED]
    lines = sum(
        CalcRun.all_tenants.filter(task_run_id__in=runs).values_list("lines_written", flat=True)
    )
    kpi_rows = sum(r[2] for r in outcome if r[0] != "incentives.calc_run")
    print(f"## Recompute throughput (`bench/throughput.py`), {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; load average "
        f"{os.getloadavg()[0]:.1f} at the end. Database `{args.db}`: {len(tenants)} tenants, "
        f"{deals:,} deals ({data_size} of deals, splits and stage history). "
        f"Worker: prefork, {args.concurrency} children.\n"
    )
    rows = [
        ("runs queued: a full KPI recompute and a FY2026 Q2 calculation run a tenant", len(runs)),
        ("runs failed", len(failed)),
        ("wall time until every run finished", f"**{took:.1f} s**"),
        ("KPI values written", f"{kpi_rows:,}"),
        ("statement lines written", f"{lines:,}"),
        ("peak resident memory of one worker child", f"**{peak_child:.0f} MB**"),
        ("peak resident memory of the whole worker (parent and children)", f"{peak_total:.0f} MB"),
        ("peak connections to the database (this script's own not counted)", peak_connections),
        ("samples taken (every 0.2 s)", samples),
    ]
    print("| measure | result |\n|---|---|")
    for measure, result in rows:
        print(f"| {measure} | {result} |")
    if failed:
        raise SystemExit(f"failed runs: {failed}\n{log.read_text(errors='replace')[-3000:]}")


if __name__ == "__main__":
    main()
