"""Tenant tasks through the real broker and a real worker."""

import datetime as dt
import time

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from spm.models import FiscalPeriod
from spm.schedules import CORE_SCHEDULES, schedules_ensure
from spm.tasks import periods_ensure_for_tenant, periods_roll_forward
from spm.tenancy.context import tenant_context


def _period_count(tenant):
    with tenant_context(tenant):
        return FiscalPeriod.objects.count()


@time_machine.travel(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC), tick=True)
def test_task_enters_its_tenant_and_fills_missing_periods(world_a, world_b, worker):
    with tenant_context(world_a.tenant):
        FiscalPeriod.objects.filter(fiscal_year__gte=2027).delete()
    assert _period_count(world_a.tenant) == 2 * 17

    periods_roll_forward.delay()
    deadline = time.monotonic() + 20
    while _period_count(world_a.tenant) < 3 * 17 and time.monotonic() < deadline:
        time.sleep(0.2)

    # Today is in FY2026 -> FY2026..FY2028 must exist; FY2025 and FY2026 were kept.
    with tenant_context(world_a.tenant):
        years = sorted(
            FiscalPeriod.objects.filter(kind="year").values_list("fiscal_year", flat=True)
        )
    assert years == [2025, 2026, 2027, 2028]
    assert _period_count(world_b.tenant) == 5 * 17


@pytest.mark.django_db
def test_task_run_inline_is_idempotent(world_a):
    first = periods_ensure_for_tenant(world_a.tenant.pk)
    second = periods_ensure_for_tenant(world_a.tenant.pk)
    assert first == second == _period_count(world_a.tenant)


@pytest.mark.django_db
def test_the_roll_forward_schedule_is_registered_once_in_the_database_scheduler():
    # (The migration runs schedules_ensure; transactional tests flush its rows, so the
    # registration is exercised here directly.)
    PeriodicTask.objects.filter(name="Roll fiscal periods forward").delete()
    schedules_ensure(CORE_SCHEDULES)
    schedules_ensure(CORE_SCHEDULES)
    task = PeriodicTask.objects.get(name="Roll fiscal periods forward")
    assert (task.task, task.crontab.hour, task.crontab.minute, task.enabled) == (
        "spm.tasks.periods_roll_forward",
        "*",
        "15",
        True,
    )
