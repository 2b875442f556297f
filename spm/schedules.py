"""Periodic tasks registered with django-celery-beat's database scheduler, and
the claims that make each scheduled effect happen once.

Each app lists its schedules and registers them with a data migration
(``schedules_migration``); admins can then edit them in the admin (Periodic
tasks).

Beat may send a job twice: two beat processes running at once (a deploy
overlap, a second replica), or a daylight-saving change. So a job's entry
point claims the effect before starting it (``schedule_claim``), keyed by what
must happen once: a nightly job per tenant and local date
(``nightly_tenants``), an hourly job per UTC hour (``hourly_claim``). The
nightly entry points tick every hour; each tenant's job runs at the first tick
after ``SPM_NIGHTLY_HOUR`` (default 2) on its local clock, so a night whose
02:00 does not exist (spring forward) still runs it, and one whose 02:00
happens twice (fall back) runs it once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, migrations
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from spm.models import Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    crontab: dict[str, str] | None = None  # minute, hour, day_of_week, ...
    every_seconds: int | None = None


CORE_SCHEDULES = [
    Schedule(
        name="Roll fiscal periods forward",
        task="spm.tasks.periods_roll_forward",
        crontab={"minute": "15"},  # hourly tick; once per tenant-night (nightly_tenants)
    ),
    Schedule(
        name="Send tasks kept in the outbox",
        task="spm.tasks.outbox_relay_task",
        every_seconds=15,
    ),
]


def schedules_migration(schedules: list[Schedule]) -> migrations.RunPython:
    """The migration operation that registers ``schedules`` (``schedules_ensure``
    on the migration's models) and, reversed, removes them by name."""

    def add(apps: Any, schema_editor: Any) -> None:
        schedules_ensure(schedules, models=apps, using=schema_editor.connection.alias)

    def remove(apps: Any, schema_editor: Any) -> None:
        apps.get_model("django_celery_beat", "PeriodicTask").objects.using(
            schema_editor.connection.alias
        ).filter(name__in=[s.name for s in schedules]).delete()

    return migrations.RunPython(add, remove)


def schedules_ensure(
    schedules: list[Schedule], *, models: Any = None, using: str = "default"
) -> None:
    """Create the periodic tasks that do not exist yet (by name); idempotent.

    ``models`` is the migration's ``apps`` registry when called from a
    migration (historical models), else the real models are used.
    """
    if models is not None:
        crontab_model = models.get_model("django_celery_beat", "CrontabSchedule")
        interval_model = models.get_model("django_celery_beat", "IntervalSchedule")
        task_model = models.get_model("django_celery_beat", "PeriodicTask")
    else:
        crontab_model, interval_model, task_model = CrontabSchedule, IntervalSchedule, PeriodicTask
    for schedule in schedules:
        if task_model.objects.using(using).filter(name=schedule.name).exists():
            continue
        defaults: dict[str, Any] = {"task": schedule.task}
        if schedule.crontab is not None:
            fields = {
                "minute": "*",
                "hour": "*",
                "day_of_week": "*",
                "day_of_month": "*",
                "month_of_year": "*",
                "timezone": "UTC",
                **schedule.crontab,
            }
            defaults["crontab"], _ = crontab_model.objects.using(using).get_or_create(**fields)
        else:
            defaults["interval"], _ = interval_model.objects.using(using).get_or_create(
                every=schedule.every_seconds, period="seconds"
            )
        task_model.objects.using(using).create(name=schedule.name, **defaults)


def schedule_crontab_set(
    name: str, crontab: dict[str, str], *, models: Any, using: str = "default"
) -> None:
    """Point the periodic task ``name`` at ``crontab`` (a data migration that
    changes a schedule's ticks; ``models`` is the migration's registry)."""
    crontab_model = models.get_model("django_celery_beat", "CrontabSchedule")
    task_model = models.get_model("django_celery_beat", "PeriodicTask")
    fields = {
        "minute": "*",
        "hour": "*",
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": "UTC",
        **crontab,
    }
    schedule, _ = crontab_model.objects.using(using).get_or_create(**fields)
    task_model.objects.using(using).filter(name=name).update(crontab=schedule)


CLAIM_SQL = """
INSERT INTO spm_scheduleclaim (job, key, claimed_at) VALUES (%s, %s, now())
ON CONFLICT (job, key) DO NOTHING RETURNING id
"""


def schedule_claim(job: str, key: str) -> bool:
    """Claim the effect of ``job`` for ``key``; True for the first caller, False
    (logged as a no-op) for any later one, whichever process it runs in."""
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [job, key])
        claimed = cursor.fetchone() is not None
    if not claimed:
        log.info("Scheduled job %s already ran for %s: duplicate tick ignored", job, key)
    return claimed


def nightly_hour() -> int:
    return int(settings.SPM_NIGHTLY_HOUR)


def nightly_tenants(job: str, *, now: dt.datetime | None = None) -> list[int]:
    """The tenants whose nightly ``job`` is due at this tick, claimed: their
    local clock is past ``SPM_NIGHTLY_HOUR`` and the job has not run for their
    local date. Call from the job's hourly beat entry point."""
    now = now or timezone.now()
    due: list[int] = []
    for tenant_id, zone in Tenant.objects.order_by("pk").values_list("pk", "time_zone"):
        local = now.astimezone(ZoneInfo(zone))
        if local.hour < nightly_hour():
            continue
        if schedule_claim(job, f"tenant {tenant_id} night of {local.date().isoformat()}"):
            due.append(tenant_id)
    return due


def hourly_claim(job: str, *, now: dt.datetime | None = None) -> bool:
    """Claim ``job`` for the current UTC hour (hourly entry points)."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    return schedule_claim(job, now.strftime("hour %Y-%m-%dT%H"))
