"""Objects of statements reps trust for the isolation tests: the January
preview of ``objects_incentives`` published, disputed by its rep, the
notification that told them, and its payroll export (see test_discovery.py)."""

from __future__ import annotations

from typing import Any

from incentives import services
from incentives.models import CalcRun, Notification, Statement


def make_objects(world: Any) -> list[Any]:
    t = world.tenant
    run = CalcRun.objects.get(tenant=t, status=CalcRun.Status.PREVIEW)
    services.calc_run_publish(t, run=run, actor=world.finance)
    statement = Statement.objects.get(tenant=t, run=run, membership=world.rep1)
    dispute = services.dispute_open(
        t,
        statement=statement,
        actor=world.rep1,
        reason="isolation",
        attachment=("proof.txt", "text/plain", b"proof"),
    )
    notification = Notification.objects.filter(tenant=t, recipient=world.rep1).first()
    export = services.payroll_export_create(t, period=run.period, actor=world.finance)
    return [dispute, notification, export]
