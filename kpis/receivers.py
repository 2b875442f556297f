"""Recompute on change: the KPI pillar's receiver of the domain events.

The services of pipeline, goals and the core publish what they wrote
(``spm.events``); after the commit this receiver marks the periods (months,
quarters, years) each event names dirty in ``kpis_dirtyperiod`` and queues
one debounced recompute per tenant. It runs outside the writer's
transaction and writes nothing but the queue.

What each event marks:
- a deal created, changed or deleted: the periods of the day its figures
  count by, before and after (an amount change of a February deal touches
  February only); a deleted deal also the days of the stage entries it took
  along;
- a stage entered: the periods of that day; a deal that moved on also the
  days of its earlier entries, whose "reached the next stage" changed (read
  from the stage history here, after the commit, in one query);
- an activity, lead or account written: the periods of its old and new days;
- a quota set or deleted: its period and the periods containing it;
- a member's team or role changed, or a team moved: every period (every
  roll-up may have changed); a member's start or end date moved: the periods
  of the old and new dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from kpis.services import periods_mark_dirty, recompute_enqueue
from pipeline.selectors import stage_entry_days
from spm import events
from spm.models import Tenant
from spm.tenancy.context import tenant_context


@dataclass
class Marks:
    """What one tenant's events name: days, periods, every period, and the
    deals whose earlier stage entries are to be read."""

    days: set[dt.date] = field(default_factory=set)
    period_ids: set[int] = field(default_factory=set)
    everything: bool = False
    moved_deal_ids: set[int] = field(default_factory=set)

    def add(self, *days: dt.date | None) -> None:
        self.days.update(day for day in days if day is not None)


def _note_deals(marks: Marks, event: events.Event) -> None:
    match event:
        case events.DealCreated(deals=deals):
            marks.add(*(deal.counts_on for deal in deals))
        case events.DealChanged(deals=changes):
            for change in changes:
                marks.add(change.old.counts_on, change.new.counts_on)
        case events.DealDeleted(deals=deals, stage_entry_days=days):
            marks.add(*(deal.counts_on for deal in deals))
            marks.add(*days)
        case events.StageEntered(entries=entries):
            for entry in entries:
                marks.add(entry.day)
                if entry.from_stage_id is not None:
                    marks.moved_deal_ids.add(entry.deal_id)


def _note_rows(marks: Marks, event: events.Event) -> None:
    match event:
        case events.ActivityWritten(activities=rows):
            for activity in rows:
                marks.add(activity.old_occurred_on, activity.new_occurred_on)
        case events.LeadWritten(leads=rows):
            for lead in rows:
                marks.add(lead.old_awareness_on, lead.new_awareness_on)
        case events.AccountWritten(accounts=rows):
            for account in rows:
                marks.add(
                    account.old_customer_since,
                    account.new_customer_since,
                    account.old_churned_on,
                    account.new_churned_on,
                )
        case events.QuotaSet(quotas=quotas) | events.QuotaDeleted(quotas=quotas):
            marks.period_ids.update(quota.period_id for quota in quotas)


def _note_people(marks: Marks, event: events.Event) -> None:
    match event:
        case events.TeamMoved():
            marks.everything = True
        case events.MembershipChanged() as member:
            if (member.old_team_id, member.old_role) != (member.new_team_id, member.new_role):
                marks.everything = True
            if member.old_start_date != member.new_start_date:
                marks.add(member.old_start_date, member.new_start_date)
            if member.old_end_date != member.new_end_date:
                marks.add(member.old_end_date, member.new_end_date)


def marks_of(batch: Sequence[events.Event]) -> dict[int, Marks]:
    """Tenant id -> what ``batch`` names (no query)."""
    marks: dict[int, Marks] = {}
    for event in batch:
        tenant_marks = marks.setdefault(event.tenant_id, Marks())
        _note_deals(tenant_marks, event)
        _note_rows(tenant_marks, event)
        _note_people(tenant_marks, event)
    return marks


@events.subscribe(
    events.DealCreated,
    events.DealChanged,
    events.DealDeleted,
    events.StageEntered,
    events.ActivityWritten,
    events.LeadWritten,
    events.AccountWritten,
    events.QuotaSet,
    events.QuotaDeleted,
    events.MembershipChanged,
    events.TeamMoved,
)
def periods_changed(batch: Sequence[events.Event]) -> None:
    """Mark the periods ``batch`` names dirty, per tenant, and queue one
    recompute per tenant (``kpis.services.recompute_enqueue``)."""
    for tenant_id, marks in sorted(marks_of(batch).items()):
        if not (marks.days or marks.period_ids or marks.everything):
            continue
        tenant = Tenant.objects.get(pk=tenant_id)
        with tenant_context(tenant):
            if marks.moved_deal_ids:
                marks.days |= stage_entry_days(tenant, deal_ids=sorted(marks.moved_deal_ids))
            periods_mark_dirty(
                tenant,
                dates=marks.days,
                period_ids=marks.period_ids,
                everything=marks.everything,
            )
        recompute_enqueue(tenant_id)
