"""Services start tasks by name (spm.celery.enqueue): every name they send
is a registered task, so a renamed task fails here, not in production."""

from __future__ import annotations

import pytest

from kpis import services as kpi_services
from pipeline import importing
from spm.celery import app


@pytest.mark.parametrize(
    "name",
    [importing.IMPORT_RUN_TASK, kpi_services.DIRTY_TASK, kpi_services.FULL_TASK],
)
def test_every_task_a_service_sends_is_registered(name):
    app.loader.import_default_modules()

    assert name in app.tasks
