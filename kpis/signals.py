"""Recompute on change, without the lower apps knowing about KPIs.

Deals, activities, leads and accounts (pipeline) and quotas (goals) are
watched with Django signals; the pipeline's bulk writes (bulk upserts, CSV
imports) send ``pipeline.signals.rows_written`` with the rows they wrote; the
quota writes that bypass ``save()`` (grids, allocations) are caught through
the audit row their service writes in the same transaction. Each transaction
collects the dates it touched per tenant and, once committed, queues the periods containing them
(``kpis_dirtyperiod``) and enqueues one debounced recompute per tenant. A
rolled-back transaction queues nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_init, post_save, pre_delete
from django.utils import timezone

from goals.models import Quota
from kpis import services
from pipeline.models import Account, Activity, Deal, Lead
from pipeline.signals import rows_written
from spm.models import AuditEvent, Tenant
from spm.tenancy.context import tenant_context

# Fields whose old and new dates both matter (a deal moved out of a period).
WATCHED_DATES: dict[type, tuple[str, ...]] = {
    Deal: ("close_date", "expected_close_date"),
    Activity: ("occurred_on",),
    Lead: ("awareness_on",),
    Account: ("customer_since", "churned_on"),
}

# Quota writes that do not call save() on each row (grids, allocations, imports)
# leave an audit row: the periods they touched are found by change time, in a
# window before it. Pipeline bulk writes send ``pipeline.signals.rows_written``.
QUOTA_CHANGES_SQL = """
SELECT c.start FROM goals_quotachange qc JOIN spm_fiscalperiod c ON c.id = qc.period_id
WHERE qc.tenant_id = %s AND qc.changed_at BETWEEN %s AND %s
"""
BULK_WINDOW = dt.timedelta(minutes=10)

# The days deals entered their stages: a stage move changes whether their earlier
# entries "reached the next stage" (stage conversion of those months).
DEAL_STAGE_DAYS_SQL = """
SELECT DISTINCT (sc.changed_at AT TIME ZONE tn.time_zone)::date
FROM pipeline_stagechange sc JOIN spm_tenant tn ON tn.id = sc.tenant_id
WHERE sc.tenant_id = %s AND sc.deal_id = ANY(%s)
"""


@dataclass
class _Pending:
    """What the current transaction touched, per tenant id: dates, periods,
    quota bulk writes (their audit time), and "every period"."""

    dates: dict[int, set[dt.date]] = field(default_factory=dict)
    period_ids: dict[int, set[int]] = field(default_factory=dict)
    quota_writes: list[tuple[int, dt.datetime]] = field(default_factory=list)
    everything: set[int] = field(default_factory=set)

    def flush(self) -> None:
        tenant_ids = (
            set(self.dates) | set(self.period_ids) | {t for t, _ in self.quota_writes}
        ) | self.everything
        for tenant_id in sorted(tenant_ids):
            tenant = Tenant.objects.get(pk=tenant_id)
            with tenant_context(tenant):
                dates = set(self.dates.get(tenant_id, set()))
                for t, at in self.quota_writes:
                    if t == tenant_id:
                        dates |= _quota_dates(tenant_id, at)
                services.periods_mark_dirty(
                    tenant,
                    dates=dates,
                    period_ids=self.period_ids.get(tenant_id, set()),
                    everything=tenant_id in self.everything,
                )
            services.recompute_enqueue(tenant_id)


def _quota_dates(tenant_id: int, at: dt.datetime) -> set[dt.date]:
    with connection.cursor() as cursor:
        cursor.execute(QUOTA_CHANGES_SQL, [tenant_id, at - BULK_WINDOW, at])
        return {row[0] for row in cursor.fetchall()}


def _stage_days(tenant_id: int, deal_ids: list[int]) -> set[dt.date]:
    with connection.cursor() as cursor:
        cursor.execute(DEAL_STAGE_DAYS_SQL, [tenant_id, deal_ids])
        return {row[0] for row in cursor.fetchall()}


def _pending() -> _Pending | None:
    """This transaction's collector, registered once per transaction with
    on_commit (re-registered when a rolled-back savepoint dropped it)."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        return None
    state: _Pending | None = getattr(conn, "_kpis_pending", None)
    if state is None or not any(item[1] == state.flush for item in conn.run_on_commit):
        state = _Pending()
        conn._kpis_pending = state  # type: ignore[attr-defined]
        transaction.on_commit(state.flush)
    return state


def _record(update: Callable[[_Pending], object]) -> None:
    """Apply ``update`` to this transaction's collector (queued after commit);
    outside a transaction, queue at once."""
    state = _pending()
    if state is None:
        state = _Pending()
        update(state)
        state.flush()
    else:
        update(state)


def note_dates(tenant_id: int, dates: set[dt.date]) -> None:
    """Remember that ``dates`` of the tenant changed (queued after commit)."""
    _record(lambda state: state.dates.setdefault(tenant_id, set()).update(dates))


def _dates_of(sender: type, instance: Any) -> tuple[Any, ...]:
    """The dates the row's figures count by. A closed deal counts by its close
    date, an open one by its expected close date (the other date moves no
    figure); a deal whose status is not loaded, by both."""
    # __dict__, not getattr: a deferred field must not cost a query per row.
    values = instance.__dict__
    if sender is Deal and values.get("status") in ("won", "lost"):
        return (values.get("close_date"),)
    if sender is Deal and values.get("status") == "open":
        return (values.get("expected_close_date"),)
    return tuple(values.get(f) for f in WATCHED_DATES[sender])


def _snapshot(sender: type, instance: Any, **kwargs: Any) -> None:
    instance._kpis_old = _dates_of(sender, instance)
    if sender is Deal:
        instance._kpis_stage = instance.__dict__.get("stage_id")


def _deal_stage_dates(deal: Deal, **kwargs: Any) -> set[dt.date]:
    """Stage entries count by day: a new deal enters its first stage today; a
    moved one enters one today and changes whether its earlier entries reached
    the next stage; a deleted one takes its entries along (days read before the
    delete). Otherwise (an amount, a date) no stage entry moved."""
    if "created" not in kwargs:  # post_delete
        return set(getattr(deal, "_kpis_stage_days", ()))
    if kwargs["created"]:
        return {timezone.localdate()}
    if deal.__dict__.get("stage_id") != getattr(deal, "_kpis_stage", None):
        return {timezone.localdate()} | _stage_days(deal.tenant_id, [deal.pk])
    return set()


def _changed(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Saved or deleted: the old and new dates the row counts by (an amount
    change of a February deal touches February only), and for deals the days
    of the stage entries that moved."""
    if raw:
        return
    dates = {*_dates_of(sender, instance), *getattr(instance, "_kpis_old", ())}
    if sender is Deal:
        dates |= _deal_stage_dates(instance, **kwargs)
    dates.discard(None)
    note_dates(instance.tenant_id, dates)
    _snapshot(sender, instance)


def _deal_deleting(sender: type, instance: Deal, origin: Any = None, **kwargs: Any) -> None:
    """Before a deal is deleted on its own (its stage history goes with it):
    the days it entered stages, whose stage conversion it leaves. Deals swept
    away by a cascade or a queryset delete are left to the nightly run (a
    query per deal there would be an N+1)."""
    if origin is instance:
        instance._kpis_stage_days = _stage_days(instance.tenant_id, [instance.pk])  # type: ignore[attr-defined]


def _rows_written(
    sender: type, tenant: Tenant, instances: list[Any], stage_entered: list[int], **kwargs: Any
) -> None:
    """A pipeline bulk write (CSV import, bulk upsert): the old and new dates of
    every row it wrote, and the stage-entry days of new and moved deals
    (today's entry included: the batch wrote it)."""
    if sender not in WATCHED_DATES:
        return
    dates: set[dt.date] = set()
    for instance in instances:
        dates.update(_dates_of(sender, instance))
        dates.update(getattr(instance, "_kpis_old", ()))
        _snapshot(sender, instance)
    if stage_entered:
        dates |= _stage_days(tenant.pk, list(stage_entered))
    dates.discard(None)  # type: ignore[arg-type]
    note_dates(tenant.pk, dates)


def _quota_changed(sender: type, instance: Quota, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    _record(
        lambda state: state.period_ids.setdefault(instance.tenant_id, set()).add(instance.period_id)
    )


def _people_changed(instance: AuditEvent) -> None:
    """A team moved, or someone changed team or role: every roll-up may have
    changed (all periods). Someone's start or end date moved: the periods of
    the old and new dates (who counts in them, prorated quotas)."""
    data = instance.data or {}
    member = instance.action == "membership.update"
    everything = ("team" in data or "role" in data) if member else "parent" in data
    days: set[dt.date] = set()
    for text in [*data.get("start_date", []), *data.get("end_date", [])] if member else []:
        try:
            days.add(dt.date.fromisoformat(text))
        except ValueError:  # "None": no end date
            continue
    if not everything and not days:
        return

    def update(state: _Pending) -> None:
        if everything:
            state.everything.add(instance.tenant_id)
        state.dates.setdefault(instance.tenant_id, set()).update(days)

    _record(update)


def _audit(sender: type, instance: AuditEvent, created: bool, raw: bool = False, **kw: Any) -> None:
    if raw or not created:
        return
    if instance.action in ("team.update", "membership.update"):
        _people_changed(instance)
    elif instance.action.startswith("quota."):
        _record(lambda state: state.quota_writes.append((instance.tenant_id, instance.created_at)))


def connect() -> None:
    """Connect the receivers (called from KpisConfig.ready)."""
    for model in WATCHED_DATES:
        post_init.connect(_snapshot, sender=model, dispatch_uid=f"kpis.init.{model.__name__}")
        post_save.connect(_changed, sender=model, dispatch_uid=f"kpis.save.{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"kpis.delete.{model.__name__}")
    post_save.connect(_quota_changed, sender=Quota, dispatch_uid="kpis.save.quota")
    post_delete.connect(_quota_changed, sender=Quota, dispatch_uid="kpis.delete.quota")
    pre_delete.connect(_deal_deleting, sender=Deal, dispatch_uid="kpis.deleting.deal")
    post_save.connect(_audit, sender=AuditEvent, dispatch_uid="kpis.audit")
    rows_written.connect(_rows_written, dispatch_uid="kpis.pipeline_rows_written")
