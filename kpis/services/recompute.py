"""Recomputes: one set of periods, the full run (one fiscal year per
transaction), and the incremental run of the dirty periods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from kpis import engine
from kpis.models import CustomKpi
from kpis.services.goal_progress import goals_progress_update
from kpis.services.queue import FULL_TASK, QUEUED_KEY, periods_mark_dirty
from kpis.sql import CHOICES
from spm.db.locks import try_advisory_xact_lock
from spm.models import FiscalPeriod, Membership, PeriodKind, TaskRun, Tenant
from spm.outbox import enqueue_on_commit
from spm.services import task_run, task_run_create
from spm.tenancy.context import tenant_context

RUN_FULL = "kpis.recompute"
RUN_INCREMENTAL = "kpis.incremental"


def _lock_name(period_id: int) -> str:
    return f"kpis.period.{period_id}"


# Recompute ---------------------------------------------------------------------------


def kpi_recompute(
    tenant: Tenant, *, period_ids: Sequence[int], fact_months: Iterable[dt.date] | None = None
) -> int:
    """Recompute every KPI of ``period_ids`` and the progress of the goals
    measured by them; ``fact_months`` limits the months whose facts are
    computed again (default: every month of the periods; see
    ``engine.compute``). Call inside ``tenant_context(tenant)``; the caller
    holds the per-period advisory locks. Returns the snapshot rows written."""
    custom = list(CustomKpi.objects.filter(tenant=tenant))
    rows = engine.compute(tenant, period_ids=period_ids, custom=custom, fact_months=fact_months)
    goals_progress_update(tenant, period_ids=period_ids)
    return rows


def _locked(tenant: Tenant, period_ids: Iterable[int]) -> tuple[list[int], list[int]]:
    """Take the advisory lock of each period; returns (locked, busy)."""
    locked: list[int] = []
    busy: list[int] = []
    for pk in period_ids:
        (locked if try_advisory_xact_lock(tenant.pk, _lock_name(pk)) else busy).append(pk)
    return locked, busy


LIVE_SQL = """
WITH fy AS (
    SELECT "end" FROM spm_fiscalperiod
    WHERE tenant_id = %(t)s AND kind = %(period_year)s AND start <= %(today)s AND "end" >= %(today)s
),
horizon AS (
    -- the current fiscal year and the quarter after it
    SELECT COALESCE(
        (SELECT q."end" FROM spm_fiscalperiod q, fy
         WHERE q.tenant_id = %(t)s AND q.kind = %(period_quarter)s AND q.start = fy."end" + 1),
        (SELECT "end" FROM fy)
    ) AS hi
),
first AS (
    -- the first day anything the KPIs read happened
    SELECT LEAST(
        -- (per status and per stage: each MIN is one probe of an index)
        (SELECT MIN(close_date) FROM pipeline_deal
         WHERE tenant_id = %(t)s AND status = %(status_won)s),
        (SELECT MIN(close_date) FROM pipeline_deal
         WHERE tenant_id = %(t)s AND status = %(status_lost)s),
        (SELECT MIN(expected_close_date) FROM pipeline_deal
         WHERE tenant_id = %(t)s AND status = %(status_open)s),
        (SELECT MIN(occurred_on) FROM pipeline_activity WHERE tenant_id = %(t)s),
        (SELECT MIN(awareness_on) FROM pipeline_lead WHERE tenant_id = %(t)s),
        (SELECT MIN(customer_since) FROM pipeline_account WHERE tenant_id = %(t)s),
        (SELECT (MIN(x.first) AT TIME ZONE %(tz)s)::date - 1 FROM (
            SELECT (SELECT MIN(sc.changed_at) FROM pipeline_stagechange sc
                    WHERE sc.tenant_id = %(t)s AND sc.to_stage_id = st.id) AS first
            FROM pipeline_stage st WHERE st.tenant_id = %(t)s) x),
        (SELECT MIN(c.start) FROM goals_quota q
         JOIN spm_fiscalperiod c ON c.tenant_id = q.tenant_id AND c.id = q.period_id
         WHERE q.tenant_id = %(t)s)
    ) AS lo
)
SELECT p.id, p.fiscal_year, p.is_closed,
       (first.lo IS NOT NULL AND p."end" >= first.lo
        AND (horizon.hi IS NULL OR p.start <= horizon.hi)) AS live
FROM spm_fiscalperiod p, first, horizon
WHERE p.tenant_id = %(t)s
"""


def periods_live(
    tenant: Tenant, *, today: dt.date | None = None
) -> tuple[dict[int, int], set[int]]:
    """Split the tenant's open periods into those the engine computes and
    those it skips: periods ending before the first deal, activity, lead,
    customer, stage change or quota (nothing to count), and periods starting
    after the current fiscal year and the quarter after it (zeros and today's
    open pipeline only; they come into range as time passes and the nightly
    run picks them up). Closed periods are in neither: their values are
    frozen, never computed again nor cleared. Returns ({live period id:
    fiscal year}, skipped ids). Call inside the tenant's context."""
    if today is None:
        today = timezone.localtime(timezone=ZoneInfo(tenant.time_zone)).date()
    with connection.cursor() as cursor:
        cursor.execute(
            LIVE_SQL, {**CHOICES, "t": tenant.pk, "today": today, "tz": tenant.time_zone}
        )
        rows = cursor.fetchall()
    live = {pk: year for pk, year, closed, ok in rows if ok and not closed}
    return live, {pk for pk, _year, closed, ok in rows if not ok and not closed}


def _period_chunks(tenant: Tenant) -> tuple[list[list[int]], list[int]]:
    """The live periods of the tenant, one chunk per fiscal year (months,
    quarters, year), and the skipped ones."""
    live, skipped = periods_live(tenant)
    chunks: dict[int, list[int]] = {}
    for pk, year in live.items():
        chunks.setdefault(year, []).append(pk)
    return [sorted(chunks[year]) for year in sorted(chunks)], sorted(skipped)


def kpi_recompute_request(tenant: Tenant, *, actor: Membership) -> TaskRun:
    """Queue a full recompute of the tenant (``FULL_TASK``, after commit) and
    return its run, which the runs page shows with its progress."""
    with transaction.atomic():
        run = task_run_create(tenant, kind=RUN_FULL, label="Recompute all KPIs", created_by=actor)
        enqueue_on_commit(FULL_TASK, tenant.pk, run.pk)
    return run


def kpi_recompute_full(
    tenant: Tenant, *, run_id: int | None = None, created_by: Membership | None = None
) -> TaskRun:
    """Recompute every live period of the tenant (``periods_live``), one fiscal
    year per transaction, recording progress on a TaskRun (created here unless
    ``run_id`` is given); values of skipped periods are deleted.

    Opens its own transactions: call outside any tenant context. A period whose
    lock is held by another run is left to that run and marked dirty, so the
    next incremental run picks up anything the other run could not see.
    """
    with tenant_context(tenant):
        chunks, skipped_ids = _period_chunks(tenant)
        # Values of skipped periods would be stale: drop them.
        cleared = engine.clear(tenant, period_ids=skipped_ids)
    rows, skipped = 0, 0
    with task_run(
        tenant,
        kind=RUN_FULL,
        label="Recompute all KPIs",
        run_id=run_id,
        total=len(chunks),
        created_by=created_by,
    ) as run:
        for done, chunk in enumerate(chunks, start=1):
            with tenant_context(tenant):
                locked, busy = _locked(tenant, chunk)
                rows += kpi_recompute(tenant, period_ids=locked)
                if busy:
                    periods_mark_dirty(tenant, period_ids=busy)
                skipped += len(busy)
            run.progress(done, rows=rows)
        run.outcome(
            rows=rows,
            message=f"{rows} values in {sum(map(len, chunks))} periods",
            result={
                "periods": sum(map(len, chunks)),
                "skipped_busy": skipped,
                "skipped_out_of_range": len(skipped_ids),
                "cleared": cleared,
            },
        )
    with tenant_context(tenant):
        return TaskRun.objects.get(tenant=tenant, pk=run.run_id)


# The dirty periods the incremental run computes: those of open periods (a
# closed period's values are frozen; its marks stay as the record of changes
# made after its close, shown on the runs page).
DIRTY_OPEN_SQL = """
SELECT d.period_id FROM kpis_dirtyperiod d
JOIN spm_fiscalperiod p ON p.tenant_id = d.tenant_id AND p.id = d.period_id
WHERE d.tenant_id = %s AND NOT p.is_closed
ORDER BY d.period_id
"""


def kpi_recompute_dirty(tenant: Tenant) -> TaskRun | None:
    """Recompute the open periods marked dirty since the last run (the
    on-change and every-few-minutes path). Claims the dirty rows and computes
    them in one transaction under the periods' advisory locks; a period
    another run holds stays dirty, and so do closed periods (their values are
    frozen). Returns the recorded run, or None when nothing was dirty. Call
    outside any tenant context."""
    cache.delete(QUEUED_KEY.format(tenant_id=tenant.pk))
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(DIRTY_OPEN_SQL, [tenant.pk])
        pending = len(cursor.fetchall())
    if not pending:
        return None
    label = f"Recompute {pending} changed periods"
    with task_run(tenant, kind=RUN_INCREMENTAL, label=label, total=1) as run:
        with tenant_context(tenant):
            with connection.cursor() as cursor:
                cursor.execute(DIRTY_OPEN_SQL + " FOR UPDATE OF d SKIP LOCKED", [tenant.pk])
                candidates = [row[0] for row in cursor.fetchall()]
            locked, busy = _locked(tenant, candidates)
            rows = _recompute_claimed(tenant, period_ids=locked)
            labels = list(
                FiscalPeriod.objects.filter(tenant=tenant, pk__in=locked)
                .order_by("start", "kind")
                .values_list("label", flat=True)
            )
        run.outcome(
            rows=rows,
            message=f"{rows} values in {', '.join(labels)}",
            result={"periods": locked, "busy": busy},
        )
    with tenant_context(tenant):
        return TaskRun.objects.get(tenant=tenant, pk=run.run_id)


def _recompute_claimed(tenant: Tenant, *, period_ids: list[int]) -> int:
    """Unmark ``period_ids`` (locked by the caller) and compute them again:
    the facts of their months, the other periods re-derived from their stored
    months (a quota change marks no month: nothing to count)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM kpis_dirtyperiod WHERE tenant_id = %s AND period_id = ANY(%s)",
            [tenant.pk, period_ids],
        )
    live, _skipped = periods_live(tenant)
    fact_months = FiscalPeriod.objects.filter(
        tenant=tenant, pk__in=period_ids, kind=PeriodKind.MONTH
    ).values_list("start", flat=True)
    rows = kpi_recompute(
        tenant,
        period_ids=[pk for pk in period_ids if pk in live],
        fact_months=list(fact_months),
    )
    engine.clear(tenant, period_ids=[pk for pk in period_ids if pk not in live])
    return rows
