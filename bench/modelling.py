"""Plan modelling benchmark, one command, on data ``bench/run.py
--generate-only`` loaded (one tenant of 5,000 reps is the target scale):

    .venv/bin/python bench/modelling.py --db spm_bench_model [--repeat 3]

Gives every team a manager and every member the benchmark's plan
(``bench/incentives.py``: marginal tiers with an accelerator, a cap, a SPIFF
and a manager overlay), refreshes FY2026 Q2's credits (not timed), saves a
draft that pays more below quota and less above, and times
``incentives.modelling.plan_model`` of the draft on the quarter. Prints a
Markdown report for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.incentives import (  # noqa: E402
    ASSIGN_SQL,
    MANAGERS_SQL,
    PLAN,
    QUARTER,
    QUARTER_QUOTAS_SQL,
    _cpu,
    _cpu_since,
)
from spm.env import env_str  # noqa: E402

DRAFT_BANDS = [
    {"from": "0", "to": "50", "rate": "3"},
    {"from": "50", "to": "100", "rate": "9"},
    {"from": "100", "rate": "10"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="spm_bench_model")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    admin_url = env_str("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{args.db}"))
    os.environ["DATABASE_URL"] = url
    os.environ["DATABASE_OWNER_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from incentives import services
    from incentives.modelling import plan_model
    from incentives.selectors import run_reach_start
    from spm.models import FiscalPeriod, Tenant
    from spm.tenancy.context import tenant_context

    call_command("migrate", verbosity=0, interactive=False)
    tenant = Tenant.objects.filter(slug__startswith="bench-").order_by("slug").first()
    if tenant is None:
        raise SystemExit(f"{args.db} has no benchmark tenant: run bench/run.py --generate-only")
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE incentives_statementline, incentives_statement, incentives_calcrun, "
            "incentives_credit, incentives_adjustment, incentives_assignment, "
            "incentives_component, incentives_planversion, incentives_plan CASCADE"
        )
    with tenant_context(tenant), transaction.atomic(), connection.cursor() as c:
        quarter = FiscalPeriod.objects.get(tenant=tenant, kind="quarter", **QUARTER)
        c.execute(
            "SELECT count(*) FROM spm_team WHERE tenant_id = %s AND manager_id IS NOT NULL",
            [tenant.pk],
        )
        if not c.fetchone()[0]:
            c.execute(MANAGERS_SQL, {"t": tenant.pk})
        c.execute(
            QUARTER_QUOTAS_SQL,
            {"t": tenant.pk, "quarter": quarter.pk, "start": quarter.start, "end": quarter.end},
        )
        version = services.plan_version_create(tenant, source=PLAN, actor=None, status="active")
        c.execute(ASSIGN_SQL, {"t": tenant.pk, "version": version.pk})
        draft_doc = copy.deepcopy(PLAN)
        draft_doc["components"][0]["rate_table"] = DRAFT_BANDS
        draft = services.plan_version_create(tenant, source=draft_doc, actor=None)
    with tenant_context(tenant):
        started = time.perf_counter()
        services.credits_refresh(
            tenant, start=run_reach_start(tenant, period=quarter), end=quarter.end
        )
        refresh_s = time.perf_counter() - started
    with connection.cursor() as c:
        c.execute("ANALYZE")
        c.execute(
            "SELECT count(*) FROM incentives_credit WHERE tenant_id = %s "
            "AND credit_date BETWEEN %s AND %s",
            [tenant.pk, quarter.start, quarter.end],
        )
        credits = c.fetchone()[0]
        c.execute("SELECT count(*) FROM incentives_assignment WHERE tenant_id = %s", [tenant.pk])
        members = c.fetchone()[0]
    times = []
    cpu_times = []
    model = None
    for _ in range(args.repeat):
        with tenant_context(tenant):
            cpu = _cpu()
            started = time.perf_counter()
            model = plan_model(tenant, version=draft, period=quarter)
            times.append(time.perf_counter() - started)
            cpu_times.append(sum(_cpu_since(cpu)))
    if model is None:
        raise SystemExit("--repeat must be at least 1")
    print(f"## Plan modelling, {time.strftime('%Y-%m-%d %H:%M')} UTC")
    print()
    print(
        f"One tenant: {members:,} members on the plan, {credits:,} credits in FY2026 Q2 "
        f"(credits refresh of the plan year to date, not timed: {refresh_s:.1f} s)."
    )
    print()
    print(f"Load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.")
    print()
    print("| measure | result | target |")
    print("|---|---|---|")
    print(
        f"| `plan_model` of a draft on FY2026 Q2, median / max of {args.repeat}: wall "
        f"| {statistics.median(times):.2f} / {max(times):.2f} s | < 10 s |"
    )
    print(
        f"| the same, CPU seconds of the process and its database backend "
        f"| {statistics.median(cpu_times):.2f} / {max(cpu_times):.2f} s | |"
    )
    print(
        f"| cost in force / draft | {model.current:,} / {model.modelled:,} "
        f"({model.current_share}% / {model.modelled_share}% of {model.bookings:,}) | |"
    )
    print(
        f"| members who gain / lose | {int((model.members['change'] > 0).sum()):,} / "
        f"{int((model.members['change'] < 0).sum()):,} | |"
    )


if __name__ == "__main__":
    main()
