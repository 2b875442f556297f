"""One heavy job per tenant at a time: a tenant's full KPI recomputes and its
calculation run, queued together on a worker with two processes, run one
after the other (a job that finds the tenant's slot taken comes back later),
each once, all succeeded; another tenant's heavy job runs beside them."""

from __future__ import annotations

import datetime as dt

import pytest

from incentives import services as incentive_services
from kpis.services import kpi_recompute_request
from spm.models import TaskRun
from spm.tenancy.context import tenant_context
from tests.faults.conftest import wait_until
from tests.faults.data import period, sales_data

pytestmark = pytest.mark.django_db(transaction=True)


def _runs(tenant, ids):  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        return list(TaskRun.objects.filter(pk__in=ids).order_by("started_at"))


def test_a_tenants_heavy_jobs_run_one_at_a_time(world_a, world_b, start_worker_for_test):
    sales_data(world_a)
    sales_data(world_b)
    with tenant_context(world_a.tenant):
        january = period(world_a.tenant, "month", dt.date(2027, 1, 1))
    worker = start_worker_for_test(concurrency=2)
    with tenant_context(world_a.tenant):
        a_runs = [
            kpi_recompute_request(world_a.tenant, actor=world_a.admin).pk,
            incentive_services.calc_run_start(
                world_a.tenant, period=january, actor=None
            ).task_run_id,
            kpi_recompute_request(world_a.tenant, actor=world_a.admin).pk,
        ]
    with tenant_context(world_b.tenant):
        b_run = kpi_recompute_request(world_b.tenant, actor=world_b.admin).pk

    def all_finished():  # type: ignore[no-untyped-def]
        runs = _runs(world_a.tenant, a_runs) + _runs(world_b.tenant, [b_run])
        return runs if all(r.is_finished for r in runs) else None

    finished = wait_until(all_finished, timeout=180, step=0.5)
    assert finished, worker.output()
    assert [r.status for r in finished] == [TaskRun.Status.SUCCEEDED] * 4, worker.output()
    ordered = _runs(world_a.tenant, a_runs)
    # Tenant A's three jobs never overlapped: each started after the one before ended.
    assert all(
        later.started_at >= earlier.finished_at
        for earlier, later in zip(ordered, ordered[1:], strict=False)
    ), [(r.kind, r.started_at, r.finished_at) for r in ordered]
    # Each job ran once: three runs of tenant A, one of B, four task bodies.
    assert worker.output().count(" succeeded in ") == 4, worker.output()
