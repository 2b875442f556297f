"""Recompute on change: a deal created, changed, moved or deleted queues the
statistical forecast's refresh for the current quarter with the deal ids
(``pipeline.forecast.runs``); the nightly run covers everything else."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from pipeline.forecast.runs import REFRESH_TASK
from spm import events
from spm.celery import enqueue


@events.subscribe(events.DealCreated, events.DealChanged, events.DealDeleted)
def forecast_stale(batch: Sequence[events.Event]) -> None:
    """One refresh per tenant with the deals the transaction wrote."""
    deal_ids: dict[int, set[int]] = defaultdict(set)
    for event in batch:
        match event:
            case events.DealCreated(deals=deals) | events.DealDeleted(deals=deals):
                deal_ids[event.tenant_id].update(deal.deal_id for deal in deals)
            case events.DealChanged(deals=changes):
                deal_ids[event.tenant_id].update(change.new.deal_id for change in changes)
    for tenant_id, ids in deal_ids.items():
        enqueue(REFRESH_TASK, tenant_id, sorted(ids))
