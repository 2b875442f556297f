"""Periodic tasks registered with django-celery-beat's database scheduler.

Each app lists its schedules and calls ``schedules_ensure`` from a data
migration; admins can then edit them in the admin (Periodic tasks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


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
        crontab={"minute": "15", "hour": "2"},
    ),
    Schedule(
        name="Send tasks kept in the outbox",
        task="spm.tasks.outbox_relay_task",
        every_seconds=15,
    ),
]


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
