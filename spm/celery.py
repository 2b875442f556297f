"""The Celery app. Tasks take JSON ids and enter their tenant explicitly."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")

app = Celery("spm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _yield_to_the_web(**_: Any) -> None:
    """A worker's task processes (the prefork pool's children) run at a lower
    CPU priority than the web (``SPM_WORKER_NICE``, default 10): on a machine
    that holds both, pages keep their share of the CPU while heavy jobs run,
    and the jobs still get every cycle the web leaves idle. Their database
    backends are not lowered. A solo pool (an in-process worker) keeps its
    process's priority."""
    from billiard.process import current_process
    from django.conf import settings

    if current_process().name != "MainProcess":
        os.nice(settings.SPM_WORKER_NICE)


def enqueue(name: str, *args: Any, countdown: float | None = None) -> None:
    """Send the task registered as ``name`` with JSON ``args`` now.

    Services start their follow-up work by name, never by importing the task:
    an app's ``tasks.py`` imports its services, so a service importing it
    back would make a cycle. The name is a constant beside the service and
    the task declares it (``@tenant_task(name=...)``);
    ``tests/spm/test_task_names.py`` checks that every such name is a task.

    Raises the broker's error when it is down: work a write asks for goes
    through ``spm.outbox.enqueue_on_commit`` instead, which keeps it.
    """
    app.send_task(name, args=args, countdown=countdown, queue=app.conf.task_default_queue)
