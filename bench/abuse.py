"""The abuse drill, one command: schemathesis and abusive input against the
live server.

    .venv/bin/python bench/abuse.py [--db spm_bench_abuse] [--examples 40]

Creates a fresh database (``--db``) on the server of ``BENCH_ADMIN_URL``,
migrates it, loads the demo tenants (``seed_demo``), starts gunicorn on
loopback as ``make run`` does with every database statement limited to 1 s
(``statement_timeout``: a slower query fails its request with a 500), and as
the demo tenant's admin sends:

1. abusive parameters (``ABUSIVE_QUERIES``: ``page_size=10**9``, unknown
   ordering, out-of-range ids, NUL bytes, ...) to every list endpoint;
2. a 10 MB body, deeply nested JSON arrays and objects, an over-size upload;
3. schemathesis over every tenant operation of the OpenAPI schema, positive
   and negative data, ``--examples`` cases each.

Every answer must be below 500, every error problem+json (the upload page:
its 413 page), none slower than 5 s. Prints a Markdown report. The test
suite runs a fast subset of the same checks (tests/security/test_abuse.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATEMENT_TIMEOUT_MS = 1000
SLOW_SECONDS = 5.0

# gunicorn refuses a request line or headers over its limits (4094 and 8190
# bytes) before SPM sees the request: a plain 414 or 431, never a 500.
REFUSED_BY_THE_HTTP_SERVER = frozenset({414, 431})

ABUSIVE_QUERIES = [
    "page_size=1000000000",
    "page_size=-1",
    "page=-1",
    "page=99999999999999999999999",
    "ordering=no_such_field",
    "ordering=-password,user__password",
    "ordering=" + ",".join(["id"] * 200),
    "id=99999999999999999999999",
    "period=-5",
    "search=%00",
    "name=%00",
    "format=xml",
]


def is_problem(response: requests.Response) -> bool:
    return response.headers.get("Content-Type", "").startswith("application/problem+json")


def list_paths(base: str, headers: dict[str, str], slug: str) -> list[str]:
    """Every paginated tenant list endpoint of the live schema, for ``slug``."""
    schema = requests.get(f"{base}/api/v1/schema/?format=json", headers=headers, timeout=120)
    return sorted(
        path.replace("{tenant_slug}", slug)
        for path, item in schema.json()["paths"].items()
        if "{tenant_slug}" in path
        and path.count("{") == 1
        and "get" in item
        and any(p["name"] == "page_size" for p in item["get"].get("parameters", []))
    )


def check_parameters(base: str, headers: dict[str, str], paths: list[str]) -> tuple[int, list[str]]:
    """Send every abusive query to every path; the number sent and the failures."""
    failures: list[str] = []
    sent = 0
    for path in paths:
        for query in ABUSIVE_QUERIES:
            started = time.monotonic()
            response = requests.get(f"{base}{path}?{query}", headers=headers, timeout=60)
            took = time.monotonic() - started
            sent += 1
            label = f"GET {path}?{query[:40]}: {response.status_code}"
            if response.status_code >= 500:
                failures.append(label)
            elif response.status_code >= 400 and not is_problem(response):
                failures.append(f"{label} is {response.headers.get('Content-Type')}")
            elif response.status_code == 200 and query.startswith("page_size=1000000000"):
                body = response.json()
                if isinstance(body, dict) and len(body.get("results", [])) > 1000:
                    failures.append(f"{label}: more than 1000 rows in one page")
            if took > SLOW_SECONDS:
                failures.append(f"{label}: took {took:.1f} s")
    return sent, failures


def check_bodies(base: str, headers: dict[str, str], slug: str) -> list[str]:
    """A 10 MB body, deep nesting, an over-size upload: 413/400, never 500."""
    failures: list[str] = []
    json_headers = {**headers, "Content-Type": "application/json"}
    cases: list[tuple[str, str, bytes, int]] = [
        (
            "10 MB body",
            f"/api/v1/{slug}/deals/bulk/",
            json.dumps({"items": [{"name": "x" * 1024}] * 10_000}).encode(),
            413,
        ),
        (
            "100,000 nested arrays",
            f"/api/v1/{slug}/deals/bulk/",
            ("[" * 100_000 + "]" * 100_000).encode(),
            400,
        ),
        (
            "50,000 nested objects",
            f"/api/v1/{slug}/quotas/bulk/",
            ('{"a":' * 50_000 + "1" + "}" * 50_000).encode(),
            400,
        ),
    ]
    for label, path, body, expected in cases:
        response = requests.post(f"{base}{path}", data=body, headers=json_headers, timeout=120)
        if (response.status_code, is_problem(response)) != (expected, True):
            failures.append(
                f"{label}: {response.status_code} {response.headers.get('Content-Type')}"
            )
    page = requests.post(
        f"{base}/{slug}/pipeline/import/",
        files={"file": ("deals.csv", b"x" * (21 * 1024 * 1024), "text/csv")},
        timeout=120,
    )
    if page.status_code != 413 or "The upload is too large" not in page.text:
        failures.append(f"over-size upload page: {page.status_code}")
    return failures


def fuzz_operation(
    operation: Any,
    base_url: str,
    headers: dict[str, str],
    failures: list[str],
    *,
    slug: str,
    mode: Any,
    examples: int,
    on_case: Callable[[], None] | None = None,
) -> None:
    """Send ``examples`` generated cases of ``operation`` (schemathesis,
    ``mode`` positive or negative); note every 5xx, every error that is not
    problem+json and every answer slower than ``SLOW_SECONDS``."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings

    label = f"{operation.method.upper()} {operation.path} ({mode.value})"

    @hypothesis_settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.path_parameters = {**(case.path_parameters or {}), "tenant_slug": slug}
        started = time.monotonic()
        response = case.call(base_url=base_url, headers=headers, timeout=60)
        took = time.monotonic() - started
        if on_case is not None:
            on_case()
        content_type = response.headers.get("content-type") or response.headers.get(
            "Content-Type", ""
        )
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code}")
        elif (
            response.status_code >= 400
            and response.status_code not in REFUSED_BY_THE_HTTP_SERVER
            and not content_type.startswith("application/problem+json")
        ):
            failures.append(f"{label}: {response.status_code} is {content_type}")
        if took > SLOW_SECONDS:
            failures.append(f"{label}: took {took:.1f} s")

    run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="spm_bench_abuse")
    parser.add_argument("--examples", type=int, default=40)
    args = parser.parse_args()
    from spm.env import env_str

    admin = env_str("BENCH_ADMIN_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db}"')
    url = urlunsplit(urlsplit(admin)._replace(path=f"/{args.db}"))
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DATABASE_OWNER_URL": url,
            "DEBUG": "0",
            "SPM_API_TOKEN_RATE": "1000000/minute",
            "SPM_API_TENANT_RATE": "1000000/minute",
            "CACHE_KEY_PREFIX": f"bench-abuse-{args.db}",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
    import django

    django.setup()
    import schemathesis
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token
    from schemathesis import GenerationMode

    from spm import devstack
    from spm.models import Membership, Tenant
    from spm.tenancy.context import tenant_context

    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", verbosity=0)
    tenant = Tenant.objects.order_by("id")[0]
    with tenant_context(tenant):
        admin_member = Membership.objects.filter(tenant=tenant, role="admin").first()
    if admin_member is None:
        raise SystemExit("The demo tenant has no admin.")
    token, _ = Token.objects.get_or_create(user_id=admin_member.user_id)
    headers = {"Authorization": f"Token {token.key}"}
    work = Path(tempfile.mkdtemp(prefix="spm-abuse-"))
    port = devstack.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PGOPTIONS": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"}
    log = work / "web.log"
    started = time.monotonic()
    with devstack.serving(devstack.web_command(port, work), env, port, log):
        paths = list_paths(base, headers, tenant.slug)
        sent, failures = check_parameters(base, headers, paths)
        failures += check_bodies(base, headers, tenant.slug)
        sent += 4
        raw = requests.get(f"{base}/api/v1/schema/?format=json", headers=headers, timeout=120)
        schema = schemathesis.openapi.from_dict(raw.json())
        operations = [
            op.ok() for op in schema.get_all_operations() if "{tenant_slug}" in op.ok().path
        ]
        cases = [0]

        def count() -> None:
            cases[0] += 1

        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz_operation(
                    operation,
                    base,
                    headers,
                    failures,
                    slug=tenant.slug,
                    mode=mode,
                    examples=args.examples,
                    on_case=count,
                )
    elapsed = time.monotonic() - started
    server_errors = len(devstack.server_errors(log.read_text()))
    print(
        f"## Abuse drill (`bench/abuse.py --examples {args.examples}`), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print()
    print(
        f"Demo data (`seed_demo`), gunicorn on loopback, statement_timeout "
        f"{STATEMENT_TIMEOUT_MS} ms; load average {os.getloadavg()[0]:.1f} at the end; "
        f"{elapsed:.0f} s in all."
    )
    print()
    print(f"- abusive parameters: {len(ABUSIVE_QUERIES)} queries x {len(paths)} list endpoints")
    print("- bodies: 10 MB, 100,000 nested arrays, 50,000 nested objects, a 21 MB upload")
    print(
        f"- schemathesis: {len(operations)} operations x positive and negative, "
        f"{cases[0]} cases sent"
    )
    print(
        f"- requests sent: {sent + cases[0]}; 5xx in the server log: {server_errors}; "
        f"failures: {len(set(failures))}"
    )
    for failure in sorted(set(failures)):
        print(f"  - {failure}")
    if failures or server_errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
