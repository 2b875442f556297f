"""Abusive input against the live server: gunicorn started on loopback, as
``make run`` starts it, on this test's database, with every database
statement of the web process limited to 1 s (``statement_timeout``: a slower
query fails the request with a 500, which these tests refuse).

The fast subset runs here: abusive parameters and bodies on every list
endpoint, and schemathesis (positive and negative data) on a sample of
operations. ``bench/abuse.py`` runs schemathesis over every operation with
many more examples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from django.conf import settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from bench.abuse import (
    ABUSIVE_QUERIES,
    STATEMENT_TIMEOUT_MS,
    check_bodies,
    check_parameters,
    fuzz_operation,
    is_problem,
    list_paths,
)
from spm import devstack
from tests.conftest import client_for, database_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_web(world_a, tmp_path) -> Iterator[tuple[str, dict[str, str]]]:
    """gunicorn on a free loopback port: its base URL and the admin's API token header."""
    port = devstack.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url("default"),
        "DATABASE_OWNER_URL": database_url("owner"),
        "DJANGO_SETTINGS_MODULE": "spm.settings.local",
        "DEBUG": "0",
        "SPM_VAR_DIR": str(tmp_path),
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "PGOPTIONS": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        # The rates are not under test here; schemathesis sends hundreds of requests.
        "SPM_API_TOKEN_RATE": "100000/minute",
        "SPM_API_TENANT_RATE": "100000/minute",
    }
    log = tmp_path / "web.log"
    with devstack.serving(devstack.web_command(port, tmp_path), env, port, log, timeout=90):
        token, _ = Token.objects.get_or_create(user=world_a.admin.user)
        yield f"http://127.0.0.1:{port}", {"Authorization": f"Token {token.key}"}
    # No request ended in a server error (the access log's status column).
    assert devstack.server_errors(log.read_text()) == []


def test_abusive_parameters_on_every_list_endpoint(live_web):
    base, headers = live_web
    paths = list_paths(base, headers, "alpha")
    assert len(paths) >= 20
    sent, failures = check_parameters(base, headers, paths)
    assert sent == len(paths) * len(ABUSIVE_QUERIES)
    assert "\n".join(failures) == ""


def test_unknown_ordering_is_a_400_naming_the_field(live_web):
    base, headers = live_web
    response = requests.get(
        f"{base}/api/v1/alpha/deals/?ordering=-amount,password", headers=headers, timeout=30
    )
    assert (response.status_code, is_problem(response)) == (400, True)
    (error,) = response.json()["errors"]
    assert error["field"] == "ordering"
    assert error["message"].startswith("Cannot order by 'password'; order by one of: ")


def test_huge_and_deeply_nested_bodies(live_web):
    base, headers = live_web
    assert check_bodies(base, headers, "alpha") == []
    response = requests.post(
        f"{base}/api/v1/alpha/deals/bulk/",
        data=b"[" * 100_000 + b"]" * 100_000,
        headers={**headers, "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.json()["detail"] == "JSON parse error - the body is nested too deeply."


# A sample of operations for the fast subset: list, detail, create and bulk.
SAMPLE = {
    ("GET", "/api/v1/{tenant_slug}/deals/"),
    ("POST", "/api/v1/{tenant_slug}/deals/"),
    ("POST", "/api/v1/{tenant_slug}/deals/bulk/"),
    ("GET", "/api/v1/{tenant_slug}/quotas/"),
    ("POST", "/api/v1/{tenant_slug}/quotas/bulk/"),
    ("PATCH", "/api/v1/{tenant_slug}/quotas/{id}/"),
    ("GET", "/api/v1/{tenant_slug}/kpi-values/"),
    ("GET", "/api/v1/{tenant_slug}/statements/"),
    ("POST", "/api/v1/{tenant_slug}/adjustments/"),
}


def test_schemathesis_positive_and_negative_on_the_live_server(live_web):
    base, headers = live_web
    raw = requests.get(f"{base}/api/v1/schema/?format=json", headers=headers, timeout=120)
    schema = schemathesis.openapi.from_dict(raw.json())
    operations = [
        op.ok()
        for op in schema.get_all_operations()
        if (op.ok().method.upper(), op.ok().path) in SAMPLE
    ]
    assert len(operations) == len(SAMPLE)
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(operation, base, headers, failures, slug="alpha", mode=mode, examples=10)
    assert "\n".join(sorted(set(failures))) == ""


def test_an_api_address_with_no_route_is_a_problem_json_404(world_a):
    client = client_for(world_a.admin.user)
    response = client.get("/api/v1/alpha/quotas/abc/")
    assert (response.status_code, response["Content-Type"]) == (404, "application/problem+json")
    assert response.json()["title"] == "Not Found"
    page = client.get("/alpha/no-such-page/")
    assert page.status_code == 404
    assert "<h1>Not found</h1>" in page.content.decode()
