"""A worker's task processes run at a lower CPU priority than the web
(SPM_WORKER_NICE), so a machine holding both keeps pages answering while
heavy jobs run."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.faults.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_in_process_solo_worker_keeps_its_processs_priority(worker):
    # The solo pool runs tasks in the process that started it (here, the tests').
    assert os.getpriority(os.PRIO_PROCESS, 0) == os.getpriority(os.PRIO_PROCESS, os.getppid())


def test_the_workers_task_processes_run_niced_below_the_web(start_worker_for_test):
    worker = start_worker_for_test(concurrency=2)
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert settings.SPM_WORKER_NICE == 10
    lowered = min(ours + 10, 19)  # 19 is the lowest priority there is
    assert lowered > ours

    def children_priorities() -> list[int] | None:
        # A child lowers itself as it starts (worker_process_init), just after the fork.
        found = [os.getpriority(os.PRIO_PROCESS, pid) for pid in worker.child_pids()]
        return found if found == [lowered] * 2 else None

    assert wait_until(children_priorities) == [lowered] * 2
    # The process that takes messages from the broker keeps the web's priority.
    assert os.getpriority(os.PRIO_PROCESS, worker.process.pid) == ours
