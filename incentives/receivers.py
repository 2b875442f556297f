"""Late changes: the incentives pillar's receiver of the domain events.

A deal created, changed or deleted that is or was won, or a quota set or
deleted, re-queues the current preview run of every open period it touches
(the periods containing the deal's old and new close dates, or overlapping
the quota's period). Published statements are never touched: a change to a
closed period's deals reaches the ledger as adjustment lines when the next
open period is run. Only previews that exist are re-queued; nothing is run
for a period nobody has previewed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Q

from incentives.models import CalcRun
from incentives.services import calc_run_start
from pipeline.models import DealStatus
from spm import events
from spm.models import FiscalPeriod, Tenant
from spm.tenancy.context import tenant_context


def _touched(batch: Sequence[events.Event]) -> dict[int, tuple[set[dt.date], set[int]]]:
    """Tenant id -> (close days of won deals, quota period ids); no query."""
    out: dict[int, tuple[set[dt.date], set[int]]] = {}
    for event in batch:
        days, period_ids = out.setdefault(event.tenant_id, (set(), set()))
        match event:
            case events.DealCreated(deals=deals) | events.DealDeleted(deals=deals):
                days.update(d.counts_on for d in deals if d.status == DealStatus.WON)
            case events.DealChanged(deals=changes):
                for change in changes:
                    days.update(
                        figures.counts_on
                        for figures in (change.old, change.new)
                        if figures.status == DealStatus.WON
                    )
            case events.QuotaSet(quotas=quotas) | events.QuotaDeleted(quotas=quotas):
                period_ids.update(q.period_id for q in quotas)
    return out


def previews_touched(
    tenant: Tenant, *, days: set[dt.date], period_ids: set[int]
) -> list[FiscalPeriod]:
    """Open periods with a current preview that contain one of ``days`` or
    overlap one of the periods ``period_ids`` (two queries)."""
    touched = Q(pk__in=[])
    for day in days:  # the few days one transaction's events name
        touched |= Q(start__lte=day, end__gte=day)
    for start, end in FiscalPeriod.objects.filter(tenant=tenant, pk__in=period_ids).values_list(
        "start", "end"
    ):
        touched |= Q(start__lte=end, end__gte=start)
    previewed = CalcRun.objects.filter(tenant=tenant, status=CalcRun.Status.PREVIEW).values(
        "period_id"
    )
    return list(
        FiscalPeriod.objects.filter(tenant=tenant, is_closed=False, pk__in=previewed)
        .filter(touched)
        .order_by("start", "kind")
    )


@events.subscribe(
    events.DealCreated,
    events.DealChanged,
    events.DealDeleted,
    events.QuotaSet,
    events.QuotaDeleted,
)
def previews_requeue(batch: Sequence[events.Event]) -> None:
    """Queue a new preview run of each open, previewed period ``batch`` touches."""
    for tenant_id, (days, period_ids) in sorted(_touched(batch).items()):
        if not (days or period_ids):
            continue
        tenant = Tenant.objects.get(pk=tenant_id)
        with tenant_context(tenant):
            for period in previews_touched(tenant, days=days, period_ids=period_ids):
                calc_run_start(tenant, period=period, actor=None)
