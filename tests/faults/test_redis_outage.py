"""Redis stopped while the web is used: reads answer, writes keep their tasks
in the outbox, the relay sends them once Redis is back, they run once."""

from __future__ import annotations

import threading

import pytest
from celery.signals import task_prerun
from django.db import connection
from django.test import Client

from kpis.services import FULL_TASK
from spm.models import OutboxMessage, TaskRun
from spm.outbox import outbox_relay
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.faults.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

READ_PAGES = [
    "/alpha/",
    "/alpha/kpis/overview/",
    "/alpha/kpis/leaderboards/",
    "/alpha/kpis/runs/",
    "/alpha/pipeline/deals/",
]
READ_ENDPOINTS = [
    "/api/v1/alpha/kpi-values/",
    "/api/v1/alpha/members/",
    "/api/v1/alpha/calc-runs/",
    "/api/v1/alpha/deals/",
]


def _runs(tenant):
    with tenant_context(tenant):
        return list(TaskRun.objects.filter(kind="kpis.recompute").values_list("status", flat=True))


def _relay_from_two_threads() -> list[int]:
    sent: list[int] = []

    def relay() -> None:
        sent.append(outbox_relay())
        connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(sent)


def test_reads_answer_and_a_write_keeps_its_task_until_redis_is_back(world_a, private_redis):
    admin = client_for(world_a.admin.user)
    api = api_client_for(world_a.admin.user)
    private_redis.stop()

    statuses = [admin.get(page).status_code for page in READ_PAGES]
    statuses += [api.get(endpoint).status_code for endpoint in READ_ENDPOINTS]
    posted = admin.post("/alpha/kpis/runs/")
    health = Client().get("/healthz")

    assert statuses == [200] * (len(READ_PAGES) + len(READ_ENDPOINTS))
    assert (posted.status_code, posted["Location"]) == (302, "/alpha/kpis/runs/")
    assert (health.status_code, health.content.decode()) == (
        200,
        "degraded: the broker does not answer; 1 tasks kept in the outbox",
    )
    kept = OutboxMessage.objects.get()
    assert (kept.task, kept.args, kept.attempts) == (
        FULL_TASK,
        [world_a.tenant.pk, kept.args[1]],
        1,
    )
    assert _runs(world_a.tenant) == ["queued"]

    private_redis.start()
    assert Client().get("/healthz").content.decode() == "ok"
    assert _relay_from_two_threads() == [0, 1]
    assert OutboxMessage.objects.count() == 0
    assert private_redis.client().llen(kept.queue) == 1


def test_the_relayed_task_runs_exactly_once(world_a, private_redis, request):
    admin = client_for(world_a.admin.user)
    private_redis.stop()
    admin.post("/alpha/kpis/runs/")
    private_redis.start()
    started: list[str] = []

    def count(task_id, task, **_kwargs):  # type: ignore[no-untyped-def]
        started.append(task_id)

    task_prerun.connect(count, weak=False)
    request.addfinalizer(lambda: task_prerun.disconnect(count))
    request.getfixturevalue("worker_thread")

    assert outbox_relay() == 1
    assert outbox_relay() == 0
    assert wait_until(lambda: _runs(world_a.tenant) == ["succeeded"])
    assert (len(started), OutboxMessage.objects.count()) == (1, 0)
