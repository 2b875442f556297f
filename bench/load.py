"""The load drill and the noisy-neighbour drill, one command each:

    .venv/bin/python bench/load.py --db spm_bench_load [--users 200] [--minutes 5] [--think 1,3]
    .venv/bin/python bench/load.py --db spm_bench_load --noisy [--users 20] [--minutes 1]

Needs the ``bench`` extra (``pip install -e '.[bench]'``: Locust) and a
database that ``bench/run.py --generate-only --db NAME`` loaded. The script:

0. prepares (not timed, once per database): a manager for every team, quarter
   quotas and one plan for everyone (as ``bench/incentives.py``), the KPI
   snapshot of every tenant, the statements of FY2026 Q2, an admin per tenant;
   then signs in the simulated members (a session and an API token each);
1. walks the request mix (bench/mix.py) once per role in-process and records
   the most queries any request made, at this scale;
2. starts gunicorn on loopback as ``make run`` does (``--web-workers``), with
   every database statement limited to 1 s;
3. load: Locust drives ``--users`` members (7 reps, 2 managers, 1 admin in
   10) reading their mix for ``--minutes``; records p50/p95 per request, the
   reads' p95 and the error rate;
   noisy (``--noisy``): the same load on tenant B only, first alone (the
   baseline), then while tenant A runs a full KPI recompute and a
   calculation run of the quarter (queued for a real worker of 2 processes,
   which runs one heavy job of a tenant at a time) and a CSV export of all
   its deals asked for through the API as a background export, run by the
   same worker (``--jobs`` picks among the three); records
   B's p95 both times and the ratio.

Prints a Markdown report (paste it into bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jobs import runs_finished, worker_start, worker_stop  # noqa: E402
from spm import devstack  # noqa: E402
from spm.env import env_str  # noqa: E402

BIN = Path(sys.executable).parent
STATEMENT_TIMEOUT_MS = 1000


def _db_url(admin: str, name: str) -> str:
    parts = urlsplit(admin)
    return urlunsplit(parts._replace(path=f"/{name}"))


def prepare() -> None:
    """Managers, quotas, a plan, KPIs, statements and an admin per tenant,
    unless done already (the bench admin's presence says so)."""
    from django.db import connection, transaction

    from bench.incentives import ASSIGN_SQL, MANAGERS_SQL, PLAN, QUARTER, QUARTER_QUOTAS_SQL
    from incentives import services as incentive_services
    from incentives.models import CalcRun, Plan
    from kpis import services as kpi_services
    from spm import services
    from spm.models import FiscalPeriod, Membership, Role, Tenant
    from spm.tenancy.context import tenant_context

    for tenant in Tenant.objects.filter(slug__startswith="bench-").order_by("slug"):
        admin_email = f"admin@{tenant.slug}.bench.test"
        with tenant_context(tenant):
            quarter = FiscalPeriod.objects.get(tenant=tenant, kind="quarter", **QUARTER)
            if Membership.objects.filter(tenant=tenant, user__email=admin_email).exists():
                continue
            print(f"[load] preparing {tenant.slug}", flush=True)
            with transaction.atomic(), connection.cursor() as c:
                # bench/incentives.py may have set the plan up already
                if not Plan.objects.filter(tenant=tenant).exists():
                    c.execute(MANAGERS_SQL, {"t": tenant.pk})
                    c.execute(
                        QUARTER_QUOTAS_SQL,
                        {
                            "t": tenant.pk,
                            "quarter": quarter.pk,
                            "start": quarter.start,
                            "end": quarter.end,
                        },
                    )
                    version = incentive_services.plan_version_create(
                        tenant, source=PLAN, actor=None, status="active"
                    )
                    c.execute(ASSIGN_SQL, {"t": tenant.pk, "version": version.pk})
                services.membership_add(
                    tenant,
                    email=admin_email,
                    first_name="Bench",
                    last_name="Admin",
                    role=Role.ADMIN,
                )
        with tenant_context(tenant):
            kpi_services.kpi_recompute_full(tenant)
            task = services.task_run_create(
                tenant, kind="incentives.calc_run", label="bench", created_by=None
            )
            run = CalcRun.objects.create(tenant=tenant, period=quarter, task_run=task)
            incentive_services.calc_run_execute(tenant, run_id=run.pk)
    with connection.cursor() as c:
        c.execute("ANALYZE")


def members(users: int, *, tenant_slugs: list[str]) -> list[dict[str, Any]]:
    """Sign in ``users`` members of ``tenant_slugs`` by the role weights of
    bench/mix.py: a session (as the browser has) and an API token each."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from bench.mix import ROLE_WEIGHTS, Subject, requests_for
    from incentives.models import Statement
    from spm.models import Membership, Team, Tenant
    from spm.tenancy.context import tenant_context

    User = get_user_model()  # noqa: N806 - a class
    wanted = {role: max(1, users * weight // 10) for role, weight in ROLE_WEIGHTS.items()}
    prepared: list[dict[str, Any]] = []
    tenants = list(Tenant.objects.filter(slug__in=tenant_slugs).order_by("slug"))
    for role, count in wanted.items():
        per_tenant = -(-count // len(tenants))
        for tenant in tenants:
            with tenant_context(tenant):
                chosen = list(
                    Membership.objects.filter(tenant=tenant, role=role, team__isnull=False)
                    .select_related("user")
                    .order_by("id")[:per_tenant]
                )
                if role == "admin":
                    chosen = list(
                        Membership.objects.filter(tenant=tenant, role=role).select_related("user")
                    )
                root = Team.objects.filter(tenant=tenant, parent__isnull=True).order_by("id")[0]
                statements = dict(
                    Statement.objects.filter(
                        tenant=tenant, membership__in=[m.pk for m in chosen]
                    ).values_list("membership_id", "id")
                )
            for member in chosen:
                client = Client()
                client.force_login(User.objects.get(pk=member.user_id))
                token, _ = Token.objects.get_or_create(user_id=member.user_id)
                team_id = member.team_id if role != "admin" else root.pk
                subject = Subject(
                    slug=tenant.slug,
                    member_id=member.pk,
                    team_id=team_id or root.pk,
                    statement_id=statements.get(member.pk),
                    fiscal_year=2026,
                )
                prepared.append(
                    {
                        "role": role,
                        "slug": tenant.slug,
                        "session": client.cookies["sessionid"].value,
                        "token": token.key,
                        "requests": requests_for(role, subject),
                    }
                )
    return prepared


def max_queries(prepared: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """The most queries one request of each role's mix makes, and which."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    worst: dict[str, tuple[int, str]] = {}
    for role in ("rep", "manager", "admin"):
        member = next(m for m in prepared if m["role"] == role)
        client = Client(HTTP_HOST="localhost")
        client.cookies["sessionid"] = member["session"]
        for name, path in member["requests"].items():
            headers = {}
            if path.startswith("/api/"):
                headers = {"HTTP_AUTHORIZATION": f"Token {member['token']}"}
            client.get(path, **headers)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path, **headers)
            if response.status_code != 200:
                raise SystemExit(f"{role} {name} {path}: {response.status_code}")
            if len(queries) > worst.get(role, (0, ""))[0]:
                worst[role] = (len(queries), name)
    return worst


def locust(
    host: str, users_file: Path, *, users: int, seconds: int, out: Path
) -> list[dict[str, str]]:
    """Run Locust headless; its per-request statistics rows."""
    subprocess.run(  # noqa: S603 - our own locust
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(1, users // 10)),
            "-t",
            f"{seconds}s",
            "--host",
            host,
            "--csv",
            str(out),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env={**os.environ, "BENCH_LOAD_USERS": str(users_file)},
        check=True,
    )
    with open(f"{out}_stats.csv") as stats:
        return list(csv.DictReader(stats))


def _row(stats: list[dict[str, str]], name: str = "Aggregated") -> dict[str, str]:
    return next(r for r in stats if r["Name"] == name)


def _error_rate(row: dict[str, str]) -> float:
    total = int(row["Request Count"])
    return 100.0 * int(row["Failure Count"]) / total if total else 0.0


HEAVY_JOBS = ("recompute", "calc", "export")
NOISY_QUEUE = "spm-bench-noisy"


def tenant_a_heavy_work(slug: str, jobs: Sequence[str]) -> list[int]:
    """Queue tenant A's background jobs (of ``jobs``) as its admin's buttons
    do, for the worker: the full KPI recompute and the quarter's calculation
    run (its previews removed first, so it computes and writes). Returns their
    task runs."""
    from bench.jobs import previews_clear
    from incentives.services import calc_run_start
    from kpis.services import kpi_recompute_request
    from spm.models import FiscalPeriod, Membership, Role, Tenant
    from spm.tenancy.context import tenant_context

    tenant = Tenant.objects.get(slug=slug)
    previews_clear([tenant.pk])
    runs = []
    with tenant_context(tenant):
        admin = Membership.objects.filter(tenant=tenant, role=Role.ADMIN).first()
        quarter = FiscalPeriod.objects.get(
            tenant=tenant, kind="quarter", fiscal_year=2026, number=2
        )
        if "recompute" in jobs:
            runs.append(kpi_recompute_request(tenant, actor=admin).pk)
        if "calc" in jobs:
            runs.append(calc_run_start(tenant, period=quarter, actor=admin).task_run_id)
    return runs


def tenant_a_export(host: str, slug: str, token: str) -> int:
    """A CSV export of all tenant A's deals, asked for through the API as a
    background export (README, "Exports in the background"); returns its task run."""
    from integrations.models import Export
    from spm.models import Tenant
    from spm.tenancy.context import tenant_context

    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{host}/api/v1/{slug}/exports/",
        data=json.dumps({"path": "deals/", "format": "csv"}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
        export_id = json.load(answer)["id"]
    tenant = Tenant.objects.get(slug=slug)
    with tenant_context(tenant):
        return Export.objects.get(tenant=tenant, pk=export_id).task_run_id


def main() -> None:  # noqa: PLR0915 -- one script, steps in order
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="spm_bench_load")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--noisy", action="store_true", help="the noisy-neighbour drill")
    parser.add_argument(
        "--jobs",
        type=lambda text: text.split(","),
        default=list(HEAVY_JOBS),
        help="tenant A's jobs in the noisy drill, of recompute,calc,export (default all)",
    )
    parser.add_argument(
        "--think",
        type=lambda text: [float(x) for x in text.split(",", 1)],
        default=[1.0, 3.0],
        help="seconds a member waits between requests, MIN,MAX (default 1,3)",
    )
    args = parser.parse_args()
    admin = env_str("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    url = _db_url(admin, args.db)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DATABASE_OWNER_URL": url,
            "DEBUG": "0",
            "SPM_API_TOKEN_RATE": "1000000/minute",
            "SPM_API_TENANT_RATE": "1000000/minute",
            "CACHE_KEY_PREFIX": f"bench-load-{args.db}",
            "CELERY_QUEUE": NOISY_QUEUE,
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
    import django

    django.setup()
    from django.core.management import call_command

    from spm.models import Tenant

    call_command("migrate", verbosity=0, interactive=False)
    prepare()
    slugs = list(
        Tenant.objects.filter(slug__startswith="bench-")
        .order_by("slug")
        .values_list("slug", flat=True)
    )
    if args.noisy and len(slugs) < 2:
        raise SystemExit("The noisy-neighbour drill needs two bench tenants.")
    tenant_a, tenant_b = slugs[0], slugs[-1]
    a_id = Tenant.objects.get(slug=tenant_a).pk
    prepared = members(args.users, tenant_slugs=[tenant_b] if args.noisy else slugs)
    worst = max_queries(prepared)
    work = Path(tempfile.mkdtemp(prefix="spm-load-"))
    users_file = work / "users.json"
    users_file.write_text(json.dumps({"users": prepared, "think_seconds": args.think}))
    port = devstack.free_port()
    host = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PGOPTIONS": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"}
    seconds = int(args.minutes * 60)
    load_before = os.getloadavg()
    web_log = work / "web.log"
    command = devstack.web_command(port, work, workers=args.web_workers)
    with devstack.serving(command, env, port, web_log):
        _warm_up(host)
        if not args.noisy:
            stats = locust(host, users_file, users=args.users, seconds=seconds, out=work / "load")
            noisy_stats = None
        else:
            stats = locust(
                host, users_file, users=args.users, seconds=seconds, out=work / "baseline"
            )
            # The jobs run on a worker (2 processes, as `make worker` on this
            # machine), without the web's statement_timeout.
            worker = worker_start(url, queue=NOISY_QUEUE, concurrency=2, log=work / "worker.log")
            started = time.monotonic()
            runs = {a_id: tenant_a_heavy_work(tenant_a, args.jobs)}
            if "export" in args.jobs:
                runs[a_id].append(tenant_a_export(host, tenant_a, _admin_token(tenant_a)))
            noisy_stats = locust(
                host, users_file, users=args.users, seconds=seconds, out=work / "noisy"
            )
            heavy_running = [not done for done in runs_finished(runs)]
            while not all(runs_finished(runs)):
                time.sleep(0.5)
            heavy_s = time.monotonic() - started
            worker_stop(worker)
    load_after = os.getloadavg()
    server_errors = len(devstack.server_errors(web_log.read_text()))

    say = print
    say(
        f"## {'Noisy neighbour' if args.noisy else 'Load'} drill (`bench/load.py`), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    say()
    say(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after. gunicorn {args.web_workers} workers x 4 threads, "
        f"statement_timeout {STATEMENT_TIMEOUT_MS} ms. Database `{args.db}`: "
        f"{len(slugs)} tenants."
    )
    say()
    say(
        f"Command: `bench/load.py --db {args.db} --users {args.users} --minutes {args.minutes:g}"
        f"{' --noisy --jobs ' + ','.join(args.jobs) if args.noisy else ''} "
        f"--web-workers {args.web_workers} "
        f"--think {args.think[0]:g},{args.think[1]:g}`"
    )
    say()
    say(
        "Most queries of one request, per role (in-process walk of the mix at this scale): "
        + ", ".join(f"{role} {n} ({name})" for role, (n, name) in worst.items())
    )
    say()
    agg = _row(stats)
    if not args.noisy:
        say("| request | count | p50 ms | p95 ms | failures |")
        say("|---|---|---|---|---|")
        for row in stats:
            if row["Name"] != "Aggregated":
                say(
                    f"| {row['Name']} | {row['Request Count']} | {row['50%']} | {row['95%']} "
                    f"| {row['Failure Count']} |"
                )
        say(
            f"| **all reads** | {agg['Request Count']} | {agg['50%']} | **{agg['95%']}** | "
            f"{agg['Failure Count']} |"
        )
        say()
        say(
            f"Throughput {float(agg['Requests/s']):.1f} requests/s; error rate "
            f"{_error_rate(agg):.3f} % (target < 0.1 %); p95 of reads {agg['95%']} ms "
            f"(target < 300 ms); 5xx in the server log: {server_errors}."
        )
    else:
        noisy = _row(noisy_stats or [])
        ratio = float(noisy["95%"]) / max(1.0, float(agg["95%"]))
        say(
            f"Tenant B (`{tenant_b}`): {args.users} members reading for {seconds} s, alone, "
            f"then while tenant A (`{tenant_a}`) runs {', '.join(args.jobs)} (its full KPI "
            f"recompute and FY2026 Q2 calculation run queued for a worker of 2 processes, "
            f"which runs one heavy job of a tenant at a time; a CSV export of all its deals "
            f"asked for through the API as a background export, on the same worker; "
            f"still running at the end of the window: {heavy_running}; all done after "
            f"{heavy_s:.0f} s)."
        )
        say()
        say("| tenant B | requests | p50 ms | p95 ms | failures |")
        say("|---|---|---|---|---|")
        for label, row in (("baseline", agg), ("with tenant A's jobs", noisy)):
            say(
                f"| {label} | {row['Request Count']} | {row['50%']} | {row['95%']} | "
                f"{row['Failure Count']} |"
            )
        say()
        say(f"p95 ratio {ratio:.2f}x (target <= 1.2x); 5xx in the server log: {server_errors}.")


def _warm_up(host: str) -> None:
    """Wait until every booting web worker answers (a busy machine takes a while)."""
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(f"{host}/healthz", timeout=60).read()  # noqa: S310 - loopback
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def _admin_token(slug: str) -> str:
    from rest_framework.authtoken.models import Token

    from spm.models import Membership, Tenant
    from spm.tenancy.context import tenant_context

    tenant = Tenant.objects.get(slug=slug)
    with tenant_context(tenant):
        admin = Membership.objects.filter(tenant=tenant, role="admin").first()
    if admin is None:
        raise SystemExit(f"{slug} has no admin (run the preparation first).")
    token, _ = Token.objects.get_or_create(user_id=admin.user_id)
    return token.key


if __name__ == "__main__":
    main()
