"""Background jobs for the drills: a real Celery worker, and the quarter's
previews cleared so that a calculation run computes and writes (a run whose
inputs equal the latest preview's keeps it without running the engine)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker_start(url: str, *, queue: str, concurrency: int, log: Path) -> subprocess.Popen[bytes]:
    """``celery worker`` (prefork, ``concurrency`` children) on ``queue`` and
    the database ``url``, as ``make worker`` runs it; returns once it consumes."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "spm.settings.local",
        "DATABASE_URL": url,
        "DATABASE_OWNER_URL": url,
        "CELERY_QUEUE": queue,
        "LOG_LEVEL": "INFO",
    }
    worker = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "celery", "-A", "spm", "worker", "--pool", "prefork",
         "--concurrency", str(concurrency), "--without-heartbeat", "--without-mingle",
         "--without-gossip", "--loglevel", "INFO", "--queues", queue],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    while " ready." not in log.read_text(errors="replace"):
        if worker.poll() is not None:
            raise SystemExit(log.read_text(errors="replace"))
        time.sleep(0.2)
    return worker


def worker_stop(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)


def previews_clear(tenant_ids: list[int]) -> None:
    """Remove the tenants' unpublished calculation runs with their statements
    and lines (the database's superuser connection: no tenant context)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "DELETE FROM incentives_statementline l USING incentives_statement s, "
            "incentives_calcrun r WHERE l.statement_id = s.id AND s.run_id = r.id "
            "AND r.published_at IS NULL AND r.tenant_id = ANY(%s)",
            [tenant_ids],
        )
        c.execute(
            "DELETE FROM incentives_statement s USING incentives_calcrun r "
            "WHERE s.run_id = r.id AND r.published_at IS NULL AND r.tenant_id = ANY(%s)",
            [tenant_ids],
        )
        c.execute(
            "DELETE FROM incentives_calcrun WHERE published_at IS NULL AND tenant_id = ANY(%s)",
            [tenant_ids],
        )


def runs_finished(tenant_ids: dict[int, list[int]]) -> list[bool]:
    """Whether each task run (ids per tenant id) has finished."""
    from spm.models import TaskRun, Tenant
    from spm.tenancy.context import tenant_context

    done = []
    for tenant_id, run_ids in tenant_ids.items():
        with tenant_context(Tenant.objects.get(pk=tenant_id)):
            finished = dict(TaskRun.objects.filter(pk__in=run_ids).values_list("pk", "status"))
        done += [finished.get(pk) in ("succeeded", "failed") for pk in run_ids]
    return done
