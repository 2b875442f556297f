"""Objects of statements reps trust for the isolation tests: the January
preview of ``objects_incentives`` published, disputed by its rep, the
notification that told them, its payroll export, the approval that let it be
published and rep1's acceptance of their plan (see test_discovery.py)."""

from __future__ import annotations

from typing import Any

from incentives import services
from incentives.models import Approval, Assignment, CalcRun, Notification, Statement
from tests.incentives.trust_helpers import approve_and_publish


def make_objects(world: Any) -> list[Any]:
    t = world.tenant
    run = CalcRun.objects.get(tenant=t, status=CalcRun.Status.PREVIEW)
    approve_and_publish(world, run)
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
    approval = Approval.objects.get(tenant=t, run=run)
    acceptance = services.plan_accept(
        t, assignment=Assignment.objects.get(tenant=t, membership=world.rep1), actor=world.rep1
    )
    return [dispute, notification, export, approval, acceptance]
