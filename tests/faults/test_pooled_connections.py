"""One database connection serving tenant A, then tenant B: B never sees A's
context, even when A's request failed in mid-transaction; a task with a
missing tenant after tasks of A and B on one worker process fails closed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from spm.models import FiscalPeriod, Team
from spm.tasks import periods_ensure_for_tenant
from spm.tenancy.context import current_tenant, tenant_context
from tests.faults.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _connection_state() -> tuple[int, str]:
    """(backend pid, app.tenant_id as the connection holds it between requests)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_setting('app.tenant_id', true)")
        pid, tenant_setting = cursor.fetchone()
    return pid, tenant_setting or ""


def _signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_tenant_b_never_sees_tenant_as_context_after_as_request_failed(world_a, world_b):
    connection.ensure_connection()
    before = _connection_state()
    alpha, beta = _signed_in(world_a.admin.user), _signed_in(world_b.admin.user)

    # A's write fails inside its transaction (the database refuses a NUL byte)
    failed = alpha.post(
        "/api/v1/alpha/teams/", {"name": "West\x00"}, content_type="application/json"
    )
    after_a = _connection_state()
    listed = beta.get("/api/v1/beta/teams/?page_size=100")
    after_b = _connection_state()

    assert failed.status_code == 400
    assert (after_a, after_b) == ((before[0], ""), (before[0], ""))
    assert sorted(t["name"] for t in listed.json()["results"]) == ["East", "Sales", "West"]
    with tenant_context(world_b.tenant):
        assert sorted(t["id"] for t in listed.json()["results"]) == sorted(
            Team.objects.values_list("pk", flat=True)
        )


def test_tasks_of_a_then_b_then_a_missing_tenant_in_one_process(world_a, world_b):
    results = [
        periods_ensure_for_tenant.apply(args=(world_a.tenant.pk,)),
        periods_ensure_for_tenant.apply(args=(world_b.tenant.pk,)),
        periods_ensure_for_tenant.apply(args=(world_b.tenant.pk + 1000,)),
    ]

    assert [r.status for r in results] == ["SUCCESS", "SUCCESS", "FAILURE"]
    assert type(results[2].result).__name__ == "DoesNotExist"
    assert (current_tenant(), _connection_state()[1]) == (None, "")
    with tenant_context(world_b.tenant):
        assert results[1].result == FiscalPeriod.objects.count()


def test_a_worker_process_fails_a_task_with_a_missing_tenant_closed(
    world_a, world_b, start_worker_for_test
):
    worker = start_worker_for_test()
    for tenant_id in (world_a.tenant.pk, world_b.tenant.pk, world_b.tenant.pk + 1000):
        periods_ensure_for_tenant.delay(tenant_id)

    finished = wait_until(
        lambda: (
            worker.output().count(" succeeded in ") == 2 and " raised unexpected" in worker.output()
        )
    )

    assert finished
    assert "Tenant matching query does not exist" in worker.output()
    assert worker.output().count("Retry in") == 0
