"""Demo data of the incentives pillar (called by ``spm.demo.seed_demo``).

Four plans: account executives (marginal tiers with an accelerator and a
quarterly cap), new-hire account executives (the same with a recoverable
draw), managers (an overlay on their teams' deals) and SDRs (a SPIFF per
new-business deal they are credited with, plus an MBO bonus on their scored
objectives). The last four months are run and published; a deal of the
first of them is then cancelled, so a later statement carries its clawback;
a manual adjustment and the current month's preview come last. Runs go
through the services (one engine pass per plan version, bulk writes), so the
query count does not grow with reps or deals.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from decimal import Decimal
from typing import Any

from incentives import services
from incentives.models import Assignment, CalcRun, PlanAcceptance
from incentives.services.runs import RUN_KIND
from pipeline import services as pipeline_services
from pipeline.models import Deal, DealStatus, Stage
from spm.demo import DemoPeople
from spm.models import FiscalPeriod, Membership, Tenant
from spm.services import task_run_create

# 12% above 100% of quota is the accelerator.
BANDS = [
    {"from": "0", "to": "50", "rate": "2"},
    {"from": "50", "to": "100", "rate": "8"},
    {"from": "100", "to": "150", "rate": "12"},
    {"from": "150", "rate": "15"},
]
AE_PLAN: dict[str, Any] = {
    "schema_version": 1,
    "name": "Account Executive",
    "description": "Marginal tiers on quarterly attainment, accelerated above 100%, "
    "capped at 40,000.00 a quarter; paid monthly on the quarter to date.",
    "components": [
        {
            "key": "bookings",
            "label": "Bookings commission",
            "measure": "credited_bookings",
            "period": "quarter",
            "payout_frequency": "month",
            "rate_table": BANDS,
            "cap": {"per_period": "40000.00"},
        }
    ],
    "examples": [
        {
            "name": "130% of quota",
            "quota": "100000.00",
            "deals": [{"amount": "130000.00"}],
            "expected": {"bookings": "8600.00"},
        }
    ],
}
MANAGER_PLAN: dict[str, Any] = {
    "schema_version": 1,
    "name": "Sales Manager",
    "description": "An overlay of 1% on every deal credited in the manager's teams.",
    "components": [
        {
            "key": "overlay",
            "label": "Team overlay",
            "measure": "credited_bookings",
            "credit_roles": ["overlay"],
            "period": "quarter",
            "payout_frequency": "month",
            "rate_table_on": "amount",
            "rate_table": [{"from": "0", "rate": "1"}],
        }
    ],
}
SDR_PLAN: dict[str, Any] = {
    "schema_version": 1,
    "name": "Sales Development",
    "description": "300.00 per new-business deal credited, and a quarterly MBO bonus.",
    "components": [
        {
            "key": "new_logo_spiff",
            "label": "New-logo SPIFF",
            "measure": "spiff",
            "period": "month",
            "spiff": {"amount": "300.00", "deal_type": "new_business"},
        },
        {
            "key": "mbo",
            "label": "MBO bonus",
            "measure": "mbo_score",
            "period": "quarter",
            "payout_frequency": "quarter",
            "target_bonus": "3000.00",
        },
    ],
}
NEW_HIRE_DRAW = {"amount": "2000.00", "recoverable": True}


def _document(base: dict[str, Any], start: dt.date, **extra: Any) -> dict[str, Any]:
    document = copy.deepcopy(base)
    document["effective_from"] = start.isoformat()
    document.update(extra)
    return document


def _months(tenant: Tenant, today: dt.date) -> list[FiscalPeriod]:
    """The four months before today's and today's (oldest first)."""
    months = FiscalPeriod.objects.filter(tenant=tenant, kind="month", start__lte=today)
    return list(months.order_by("-start")[:5])[::-1]


def _assign(
    tenant: Tenant, people: DemoPeople, start: dt.date, today: dt.date
) -> dict[str, list[Membership]]:
    """Who is on which plan: managers, two SDRs, new hires (joined in the last
    year), the other reps."""
    active = [r for r in people.reps if r.end_date is None or r.end_date >= start]
    sdrs = active[1:3]
    new_hires = [
        r for r in active if r not in sdrs and r.start_date > today - dt.timedelta(days=365)
    ]
    aes = [r for r in active if r not in sdrs and r not in new_hires]
    return {
        "manager": [people.top_manager, *people.managers],
        "sdr": sdrs,
        "new_hire": new_hires,
        "ae": aes,
    }


def _run(
    tenant: Tenant,
    period: FiscalPeriod,
    actor: Membership,
    *,
    publish: bool,
    requester: Membership | None = None,
) -> None:
    # The task's body, run in process (the demo has no worker to wait for).
    task = task_run_create(tenant, kind=RUN_KIND, label=period.label, created_by=actor)
    run = CalcRun.objects.create(tenant=tenant, period=period, task_run=task)
    run = services.calc_run_execute(tenant, run_id=run.pk)
    if publish:
        # The admin asks, finance (``actor``) approves, then publishes.
        approval = services.approval_request(tenant, actor=requester or actor, run=run)
        services.approval_decide(tenant, approval=approval, actor=actor, approve=True)
        services.calc_run_publish(tenant, run=run, actor=actor)


def _cancel_a_deal(tenant: Tenant, month: FiscalPeriod, reps: list[Membership]) -> None:
    """Cancel the largest deal an AE won in ``month`` (its clawback comes next)."""
    deal = (
        Deal.objects.filter(
            tenant=tenant,
            status=DealStatus.WON,
            close_date__range=(month.start, month.end),
            owner__in=reps,
        )
        .order_by("-base_amount", "id")
        .first()
    )
    lost = Stage.objects.filter(tenant=tenant, pipeline_id=getattr(deal, "pipeline_id", None))
    lost_stage = lost.filter(is_lost=True).order_by("position").first()
    if deal is not None and lost_stage is not None:
        pipeline_services.deal_update(
            tenant, deal=deal, actor=None, stage=lost_stage, lost_reason="Cancelled by customer"
        )


def seed(tenant: Tenant, *, rng: random.Random, today: dt.date, people: DemoPeople) -> None:
    months = _months(tenant, today)
    start = months[0].start.replace(month=1, day=1) - dt.timedelta(days=366)
    admin, finance = people.admin, people.finance
    plans = {
        "ae": _document(AE_PLAN, start),
        "new_hire": _document(
            AE_PLAN, start, name="Account Executive, new hire", draw=NEW_HIRE_DRAW
        ),
        "manager": _document(MANAGER_PLAN, start),
        "sdr": _document(SDR_PLAN, start),
    }
    on_plan = _assign(tenant, people, start, today)
    assignments = []
    for key, document in plans.items():  # four plans
        version = services.plan_version_create(
            tenant, source=document, actor=admin, status="active"
        )
        assignments += [
            Assignment(
                tenant=tenant,
                membership=member,
                version=version,
                start_date=max(start, member.start_date),
                end_date=member.end_date,
                target_incentive=Decimal(rng.choice(["24000.00", "30000.00", "36000.00"])),
            )
            for member in on_plan[key]
        ]
    # A fresh tenant: nobody has an assignment yet, so none can overlap.
    Assignment.objects.bulk_create(assignments)
    *past, current = months
    # Every member accepted their plan but the last account executive.
    PlanAcceptance.objects.bulk_create(
        PlanAcceptance(tenant=tenant, assignment=a, membership=a.membership)
        for a in assignments
        if a.membership != on_plan["ae"][-1]
    )
    for month in past[:2]:
        _run(tenant, month, finance, publish=True, requester=admin)
    _cancel_a_deal(tenant, past[0], on_plan["ae"])
    for month in past[2:]:
        _run(tenant, month, finance, publish=True, requester=admin)
    services.adjustment_create(
        tenant,
        membership=on_plan["ae"][0],
        period=current,
        amount=Decimal("-250.00"),
        reason="Conference pass paid by the company, recovered as agreed",
        actor=finance,
    )
    _run(tenant, current, finance, publish=False)
