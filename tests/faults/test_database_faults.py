"""A PostgreSQL backend terminated in the middle of a KPI recompute and of a
calculation run: the task retries with backoff and completes once, with the
figures of an undisturbed run, and no partial run is ever visible."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incentives import services as incentive_services
from incentives.models import CalcRun, Credit, Statement, StatementLine
from kpis import engine
from kpis import services as kpi_services
from spm.models import FiscalPeriod, TaskRun
from spm.tenancy.context import tenant_context
from tests.faults.conftest import admin_connection, backends_waiting_on_a_lock, wait_until
from tests.faults.data import (
    kpi_snapshot,
    period,
    sales_data,
    statement_totals,
    undisturbed_run,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _run(tenant, run_id):  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        return TaskRun.objects.get(pk=run_id)


def _finished(tenant, run_id):  # type: ignore[no-untyped-def]
    run = _run(tenant, run_id)
    return run if run.is_finished else None


def test_kpi_recompute_survives_its_backend_terminated(world_a, start_worker_for_test):
    tenant = world_a.tenant
    sales_data(world_a)
    kpi_services.kpi_recompute_full(tenant)
    undisturbed = kpi_snapshot(tenant)
    with tenant_context(tenant):
        engine.clear(tenant, period_ids=list(FiscalPeriod.objects.values_list("pk", flat=True)))
    assert kpi_snapshot(tenant) == {}
    worker = start_worker_for_test()

    with admin_connection() as admin:
        with admin.transaction():
            # Writes to the monthly facts wait: the run stops inside its first
            # fiscal year's transaction.
            admin.execute("LOCK TABLE kpis_monthfact IN SHARE MODE")
            with tenant_context(tenant):
                run = kpi_services.kpi_recompute_request(tenant, actor=world_a.admin)
            waiting = wait_until(lambda: backends_waiting_on_a_lock(), timeout=120)
            mid_run = (_run(tenant, run.pk).status, kpi_snapshot(tenant))
            admin.execute("SELECT pg_terminate_backend(%s)", [waiting[0]])
        finished = wait_until(lambda: _finished(tenant, run.pk), timeout=60)

    assert (len(waiting), mid_run) == (1, ("running", {}))
    assert (finished.status, finished.progress_done) == ("succeeded", finished.progress_total), (
        worker.output()
    )
    assert kpi_snapshot(tenant) == undisturbed
    assert "Retry in" in worker.output()
    assert worker.output().count(" succeeded in ") == 1


def test_calculation_run_survives_its_backend_terminated(world_a, world_b, start_worker_for_test):
    sales_data(world_a)
    sales_data(world_b)
    undisturbed = undisturbed_run(world_b.tenant, dt.date(2027, 1, 1))
    with tenant_context(world_a.tenant):
        jan_a = period(world_a.tenant, "month", dt.date(2027, 1, 1))
    worker = start_worker_for_test()

    with admin_connection() as admin:
        with admin.transaction():
            # Writes to the statements wait: the run stops inside its one transaction,
            # after its credits are refreshed and its lines computed.
            admin.execute("LOCK TABLE incentives_statement IN SHARE MODE")
            with tenant_context(world_a.tenant):
                run = incentive_services.calc_run_start(world_a.tenant, period=jan_a, actor=None)
            waiting = wait_until(lambda: backends_waiting_on_a_lock(), timeout=120)
            with tenant_context(world_a.tenant):
                # The run's one transaction has not committed: nothing of it is visible.
                visible = (Statement.objects.count(), Credit.objects.count())
            admin.execute("SELECT pg_terminate_backend(%s)", [waiting[0]])
        finished = wait_until(lambda: _finished(world_a.tenant, run.task_run_id), timeout=60)

    assert (len(waiting), visible) == (1, (0, 0))
    assert finished.status == "succeeded"
    assert statement_totals(world_a.tenant, run.pk) == statement_totals(
        world_b.tenant, undisturbed.pk
    )
    assert statement_totals(world_a.tenant, run.pk) == [
        ("rep1", Decimal("1800.00")),
        ("rep2", Decimal("600.00")),
    ]
    with tenant_context(world_a.tenant):
        run.refresh_from_db()
        assert (run.status, run.lines_written, StatementLine.objects.count()) == (
            CalcRun.Status.PREVIEW,
            undisturbed.lines_written,
            undisturbed.lines_written,
        )
    assert worker.output().count(" succeeded in ") == 1
