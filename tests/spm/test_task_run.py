"""task_run: a long job's start, progress, outcome and failure on its TaskRun."""

from __future__ import annotations

import pytest

from spm.models import TaskRun
from spm.services import task_run, task_run_create

pytestmark = pytest.mark.django_db


def _run(pk: int) -> tuple:
    r = TaskRun.objects.get(pk=pk)
    return r.status, r.progress_done, r.progress_total, r.rows, r.message, r.result


def test_a_job_that_ends_records_its_outcome(world_a, in_tenant_a):
    t = world_a.tenant

    with task_run(t, kind="test.job", label="Count", total=3) as run:
        run.progress(1)
        assert _run(run.run_id)[:3] == (TaskRun.Status.RUNNING, 1, 3)
        run.progress(2, rows=20)
        run.outcome(rows=30, message="30 rows", result={"n": 30})

    assert _run(run.run_id) == (TaskRun.Status.SUCCEEDED, 3, 3, 30, "30 rows", {"n": 30})
    assert TaskRun.objects.get(pk=run.run_id).started_at is not None


def test_a_queued_run_is_started_and_a_refusal_is_a_failure_without_raising(world_a, in_tenant_a):
    t = world_a.tenant
    queued = task_run_create(t, kind="test.job", label="Check")
    assert queued.status == TaskRun.Status.QUEUED

    with task_run(t, run_id=queued.pk, total=4) as run:
        run.progress(2)
        run.outcome(ok=False, message="2 rows have errors", result={"bad": 2})

    assert _run(queued.pk) == (
        TaskRun.Status.FAILED,
        2,
        4,
        0,
        "2 rows have errors",
        {"bad": 2},
    )


def test_a_job_that_raises_records_the_failure_and_the_error_propagates(world_a, in_tenant_a):
    t = world_a.tenant

    started: list[int] = []

    def job() -> None:
        with task_run(t, kind="test.job", total=2, failure="The job failed: ") as run:
            started.append(run.run_id)
            run.progress(1, rows=5)
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        job()

    assert _run(started[0]) == (
        TaskRun.Status.FAILED,
        1,
        2,
        5,
        "The job failed: disk full",
        {},
    )
