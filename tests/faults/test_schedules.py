"""Scheduled jobs happen once: two beat processes at once, and the nights a
daylight-saving change skips or repeats an hour in a tenant's time zone."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from spm.models import ScheduleClaim, TaskRun, Tenant
from spm.schedules import nightly_tenants
from spm.tenancy.context import tenant_context
from tests.faults.conftest import BASE_DIR, wait_until, worker_environment

UTC = dt.UTC


def _hourly_ticks(start: dt.datetime, hours: int) -> list[dt.datetime]:
    return [start + dt.timedelta(hours=h) for h in range(hours)]


def _nights_claimed(job: str) -> list[str]:
    return list(ScheduleClaim.objects.filter(job=job).order_by("key").values_list("key", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first_tick", "nights"),
    [
        # Berlin springs forward on 28 March 2027: 02:00 becomes 03:00 (no 02:15 that night).
        (dt.datetime(2027, 3, 27, 0, 15, tzinfo=UTC), ["2027-03-27", "2027-03-28", "2027-03-29"]),
        # ... and falls back on 31 October 2027: 02:15 happens twice.
        (dt.datetime(2027, 10, 29, 22, 15, tzinfo=UTC), ["2027-10-30", "2027-10-31", "2027-11-01"]),
    ],
)
def test_a_daylight_saving_night_runs_the_nightly_job_once(world_a, first_tick, nights):
    Tenant.objects.filter(pk=world_a.tenant.pk).update(time_zone="Europe/Berlin")
    job = "test.nightly"

    due = [nightly_tenants(job, now=tick) for tick in _hourly_ticks(first_tick, 3 * 24)]

    assert sum(len(tenants) for tenants in due) == 3
    assert _nights_claimed(job) == [f"tenant {world_a.tenant.pk} night of {d}" for d in nights]


@pytest.mark.django_db
def test_the_nightly_job_waits_for_the_tenants_local_hour(world_a, world_b):
    # 01:15 UTC in January: 02:15 in Berlin (due), 01:15 in London (not yet).
    zones = {world_a.tenant.pk: "Europe/Berlin", world_b.tenant.pk: "Europe/London"}
    for pk, zone in zones.items():
        Tenant.objects.filter(pk=pk).update(time_zone=zone)
    tick = dt.datetime(2027, 1, 15, 1, 15, tzinfo=UTC)

    assert nightly_tenants("test.nightly", now=tick) == [world_a.tenant.pk]
    assert nightly_tenants("test.nightly", now=tick + dt.timedelta(hours=1)) == [world_b.tenant.pk]
    assert nightly_tenants("test.nightly", now=tick + dt.timedelta(hours=2)) == []


def _stopped(process: subprocess.Popen[bytes]) -> None:
    """Wait for a terminated beat; kill one that has not ended after 20 s, so
    it cannot go on sending the job into the next tests' queue."""
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _beat(log_path, env):  # type: ignore[no-untyped-def]
    return subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "spm",
            "beat",
            "--loglevel",
            "INFO",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile=",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _full_runs(tenant) -> int:  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        return TaskRun.objects.filter(kind="kpis.recompute", status="succeeded").count()


@pytest.mark.django_db(transaction=True)
def test_two_beat_processes_start_each_nightly_job_once(
    world_a, world_b, start_worker_for_test, tmp_path
):
    # given only the nightly KPI recompute, ticking every second, and two beats
    PeriodicTask.objects.all().delete()
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.create(
        name="Recompute all KPIs (nightly)", task="kpis.tasks.kpis_nightly", interval=every_second
    )
    worker = start_worker_for_test()
    env = {**worker_environment(), "SPM_NIGHTLY_HOUR": "0"}
    beats = [_beat(tmp_path / f"beat{n}.log", env) for n in range(2)]
    try:
        # when both have sent the job several times
        sent = wait_until(
            lambda: all(
                (tmp_path / f"beat{n}.log").read_text().count("Sending due task") >= 3
                for n in range(2)
            ),
            timeout=90,
        )
        done = wait_until(lambda: _full_runs(world_a.tenant) and _full_runs(world_b.tenant))
    finally:
        for beat in beats:
            beat.terminate()
        for beat in beats:
            _stopped(beat)

    # then each tenant's night was recomputed once; the other ticks were no-ops
    assert (sent, done) == (True, 1)
    assert (_full_runs(world_a.tenant), _full_runs(world_b.tenant)) == (1, 1)
    assert ScheduleClaim.objects.filter(job="kpis.nightly").count() == 2
    assert "duplicate tick ignored" in worker.output()
