"""A worker process killed with SIGKILL in the middle of a calculation run:
the task is handed back (late acknowledgement, reject on worker lost),
redelivered, and finishes once; no duplicate rows; the run ends succeeded."""

from __future__ import annotations

import datetime as dt
import os
import signal
from decimal import Decimal

import pytest

from incentives import services as incentive_services
from incentives.models import Statement, StatementLine
from spm.models import TaskRun
from spm.tenancy.context import tenant_context
from tests.faults.conftest import admin_connection, backends_waiting_on_a_lock, wait_until
from tests.faults.data import period, sales_data, statement_totals

pytestmark = pytest.mark.django_db(transaction=True)


def _finished(tenant, run_id):  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        run = TaskRun.objects.get(pk=run_id)
    return run if run.is_finished else None


def test_a_calculation_run_whose_worker_is_killed_runs_again_and_once(
    world_a, start_worker_for_test
):
    sales_data(world_a)
    with tenant_context(world_a.tenant):
        january = period(world_a.tenant, "month", dt.date(2027, 1, 1))
    worker = start_worker_for_test()

    with admin_connection() as admin:
        with admin.transaction():
            # The run stops inside its transaction, writing its statements.
            admin.execute("LOCK TABLE incentives_statement IN SHARE MODE")
            with tenant_context(world_a.tenant):
                run = incentive_services.calc_run_start(world_a.tenant, period=january, actor=None)
            blocked = wait_until(backends_waiting_on_a_lock, timeout=120)
            (child,) = worker.child_pids()
            os.kill(child, signal.SIGKILL)
            # The killed process's backend notices its client is gone and rolls back
            # (client_connection_check_interval), though it waits on a lock.
            gone = wait_until(lambda: not backends_waiting_on_a_lock(), timeout=30)
        finished = wait_until(lambda: _finished(world_a.tenant, run.task_run_id), timeout=120)

    assert (len(blocked), gone) == (1, True)
    assert finished.status == "succeeded", worker.output()
    # The worker logs the task's end just after the run's row commits.
    wait_until(lambda: " succeeded in " in worker.output(), timeout=30)
    assert "WorkerLostError" in worker.output() or "SIGKILL" in worker.output()
    assert worker.output().count(" succeeded in ") == 1
    assert statement_totals(world_a.tenant, run.pk) == [
        ("rep1", Decimal("1800.00")),
        ("rep2", Decimal("600.00")),
    ]
    with tenant_context(world_a.tenant):
        assert (Statement.objects.count(), StatementLine.objects.count()) == (2, 3)
