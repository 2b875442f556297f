"""The coaching pillar's receiver of the domain events: a closed period is
when its leaderboard is final, so its top three (and the quota and goal
milestones) are recognised then (``coaching.services.milestones_recognise``)."""

from __future__ import annotations

from collections.abc import Sequence

from coaching.tasks import milestones_recognise_task
from spm import events


@events.subscribe(events.PeriodClosed)
def milestones_on_close(batch: Sequence[events.Event]) -> None:
    """Queue the milestone scan of each closed period."""
    for event in batch:
        if isinstance(event, events.PeriodClosed):
            milestones_recognise_task.delay(event.tenant_id, [event.period_id])
