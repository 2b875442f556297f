"""Domain events: what a write changed, told to the apps above it after commit.

The service that owns a write builds an event from what it wrote (the old and
new values it holds anyway; a delete also reads what its cascade takes along)
and calls ``publish`` inside its transaction. Receivers subscribe with
``@subscribe(EventType, ...)`` in their app's ``receivers.py`` (imported from
``AppConfig.ready``). After the commit each receiver is called with a list of
the events of its types, in publication order: one list per service call (the
events published under the same savepoints of the transaction; two services
called in one request make two lists). A rolled-back transaction, or a
rolled-back savepoint, delivers nothing of what was published inside it.
Outside a transaction an event is delivered at once.

Bulk writes publish one event per kind of change with all its rows: a
10,000-row lead import is one ``LeadWritten``; a deal import at most one
``DealCreated``, one ``DealChanged`` and one ``StageEntered``. Events carry
ids and values, never model instances, so a receiver may hand them to a task
as they are.

Failure policy: receivers run after the commit, so the write stands whatever
they do. A receiver that raises is logged (``spm.events``, with the
traceback) and the other receivers still run; the caller (a request, a task)
never sees the error. A receiver opens its own transaction for what it
writes (``tenant_context`` does).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.db import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every domain event: the tenant whose data changed."""

    tenant_id: int


# Deals and stages ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DealFigures:
    """A deal as its figures count it, before or after a write. ``counts_on``
    is the day its figures count by: the close date once won or lost, the
    expected close date while open."""

    deal_id: int
    status: str
    counts_on: dt.date
    close_date: dt.date | None
    expected_close_date: dt.date
    stage_id: int
    owner_id: int
    base_amount: Decimal
    probability: Decimal


@dataclass(frozen=True, slots=True)
class DealChange:
    """One deal a write changed: its figures before and after, and whether its
    credit splits were written again (new splits, owner or amount)."""

    old: DealFigures
    new: DealFigures
    splits_changed: bool


@dataclass(frozen=True, slots=True)
class DealCreated(Event):
    """New deals (each credited 100 % to its owner unless given splits)."""

    deals: tuple[DealFigures, ...]


@dataclass(frozen=True, slots=True)
class DealChanged(Event):
    deals: tuple[DealChange, ...]


@dataclass(frozen=True, slots=True)
class DealDeleted(Event):
    """Deleted deals, with the days (tenant's time zone) of the stage entries
    their history took along."""

    deals: tuple[DealFigures, ...]
    stage_entry_days: tuple[dt.date, ...]


@dataclass(frozen=True, slots=True)
class StageEntry:
    """A deal entered ``to_stage_id`` on ``day`` (tenant's time zone);
    ``from_stage_id`` is None for a new deal's first stage."""

    deal_id: int
    from_stage_id: int | None
    to_stage_id: int
    day: dt.date


@dataclass(frozen=True, slots=True)
class StageEntered(Event):
    entries: tuple[StageEntry, ...]


# Activities, leads, accounts -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One activity written: its day before (None: created) and after (None: deleted)."""

    activity_id: int
    old_occurred_on: dt.date | None
    new_occurred_on: dt.date | None


@dataclass(frozen=True, slots=True)
class ActivityWritten(Event):
    activities: tuple[ActivityRow, ...]


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One lead written: its awareness day before (None: created) and after (None: deleted)."""

    lead_id: int
    old_awareness_on: dt.date | None
    new_awareness_on: dt.date | None


@dataclass(frozen=True, slots=True)
class LeadWritten(Event):
    leads: tuple[LeadRow, ...]


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One account written: the days it became a customer and churned, before
    and after (all None on the missing side of a create or delete)."""

    account_id: int
    old_customer_since: dt.date | None
    new_customer_since: dt.date | None
    old_churned_on: dt.date | None
    new_churned_on: dt.date | None


@dataclass(frozen=True, slots=True)
class AccountWritten(Event):
    accounts: tuple[AccountRow, ...]


# Quotas --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuotaRef:
    """A quota's key: its period and subject (exactly one of member and team)."""

    period_id: int
    membership_id: int | None
    team_id: int | None
    measure: str


@dataclass(frozen=True, slots=True)
class QuotaSet(Event):
    """Quotas created or given a new amount (unchanged ones are not listed)."""

    quotas: tuple[QuotaRef, ...]


@dataclass(frozen=True, slots=True)
class QuotaDeleted(Event):
    quotas: tuple[QuotaRef, ...]


# People, teams, periods ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MembershipChanged(Event):
    """A member's team, role or dates before and after a change."""

    membership_id: int
    old_team_id: int | None
    new_team_id: int | None
    old_role: str
    new_role: str
    old_start_date: dt.date
    new_start_date: dt.date
    old_end_date: dt.date | None
    new_end_date: dt.date | None


@dataclass(frozen=True, slots=True)
class TeamMoved(Event):
    """A team (with its subtree) moved under another parent (None: top level)."""

    team_id: int
    old_parent_id: int | None
    new_parent_id: int | None


@dataclass(frozen=True, slots=True)
class PeriodClosed(Event):
    period_id: int


# Goals, statements, forecasts, reviews, runs ------------------------------------------


@dataclass(frozen=True, slots=True)
class GoalStatusChanged(Event):
    """A goal moved through its approval flow (draft, proposed, approved, ...)."""

    goal_id: int
    owner_membership_id: int | None
    owner_team_id: int | None
    old_status: str
    new_status: str
    actor_id: int | None


@dataclass(frozen=True, slots=True)
class PublishedStatement:
    """A published statement; ``total`` is in ``currency`` (the member's payout currency)."""

    statement_id: int
    membership_id: int
    total: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class StatementsPublished(Event):
    """A calculation run was published: its statements are now the period's."""

    run_id: int
    period_id: int
    statements: tuple[PublishedStatement, ...]


@dataclass(frozen=True, slots=True)
class StatementDisputed(Event):
    """A member disputed a line or the whole of their statement."""

    dispute_id: int
    statement_id: int
    membership_id: int


@dataclass(frozen=True, slots=True)
class StatementDisputeResolved(Event):
    """A dispute was settled; ``outcome`` is its final status (resolved or rejected)."""

    dispute_id: int
    statement_id: int
    membership_id: int
    outcome: str


@dataclass(frozen=True, slots=True)
class ForecastSubmitted(Event):
    """A forecast call was submitted for a member and a period; ``amount`` is
    the call, in the tenant's currency."""

    forecast_id: int
    membership_id: int
    period_id: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ReviewCompleted(Event):
    """A performance review was completed (the coaching review service publishes it)."""

    review_id: int
    membership_id: int


@dataclass(frozen=True, slots=True)
class TaskRunFinished(Event):
    """A long job recorded its end (``spm.services.task_run``); ``kind`` names
    the job (``kpis.recompute``, ``incentives.run``, ...)."""

    run_id: int
    kind: str
    status: str
    rows: int
    message: str


# Dispatch ------------------------------------------------------------------------------

Receiver = Callable[[Sequence[Event]], None]
R = TypeVar("R", bound=Receiver)

_subscriptions: list[tuple[tuple[type[Event], ...], Receiver]] = []


def subscribe(*event_types: type[Event]) -> Callable[[R], R]:
    """Decorator: call the receiver after each commit with that transaction's
    events of ``event_types`` (a list, in publication order). Subscribing the
    same function twice keeps one subscription."""

    def register(receiver: R) -> R:
        if not any(known is receiver for _types, known in _subscriptions):
            _subscriptions.append((event_types, receiver))
        return receiver

    return register


def _deliver(events: Sequence[Event]) -> None:
    for event_types, receiver in list(_subscriptions):
        mine = [event for event in events if isinstance(event, event_types)]
        if not mine:
            continue
        try:
            receiver(mine)
        except Exception:
            log.exception(
                "Receiver %s.%s failed on %s (%d in all); the write stands.",
                receiver.__module__,
                receiver.__qualname__,
                ", ".join(sorted({type(event).__name__ for event in mine})),
                len(mine),
            )


class _Pending:
    """The events published under one stack of savepoints of the current
    transaction; registered once with ``on_commit``, so Django drops it with
    a rolled-back savepoint and calls it after the commit."""

    def __init__(self, savepoints: tuple[str | None, ...]) -> None:
        self.savepoints = savepoints
        self.events: list[Event] = []

    def __call__(self) -> None:
        _deliver(self.events)


def publish(event: Event) -> None:
    """Publish ``event`` from inside the writer's transaction: the receivers
    get it after the commit, nothing on a rollback. Outside a transaction
    they get it at once."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _deliver([event])
        return
    savepoints = tuple(connection.savepoint_ids)
    for _sids, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _Pending) and callback.savepoints == savepoints:
            callback.events.append(event)
            return
    pending = _Pending(savepoints)
    pending.events.append(event)
    transaction.on_commit(pending)
