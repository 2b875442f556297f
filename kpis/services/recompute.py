"""Recomputes: one set of periods, the full run (one fiscal year per
transaction), and the incremental run of the dirty periods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from kpis import engine
from kpis.models import CustomKpi
from kpis.services.goal_progress import goals_progress_update
from kpis.services.queue import QUEUED_KEY, periods_mark_dirty
from spm.db.locks import try_advisory_xact_lock
from spm.models import FiscalPeriod, Membership, PeriodKind, TaskRun, Tenant
from spm.services import task_run_create, task_run_finish, task_run_start
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
    WHERE tenant_id = %(t)s AND kind = 'year' AND start <= %(today)s AND "end" >= %(today)s
),
horizon AS (
    -- the current fiscal year and the quarter after it
    SELECT COALESCE(
        (SELECT q."end" FROM spm_fiscalperiod q, fy
         WHERE q.tenant_id = %(t)s AND q.kind = 'quarter' AND q.start = fy."end" + 1),
        (SELECT "end" FROM fy)
    ) AS hi
),
first AS (
    -- the first day anything the KPIs read happened
    SELECT LEAST(
        -- (per status and per stage: each MIN is one probe of an index)
        (SELECT MIN(close_date) FROM pipeline_deal WHERE tenant_id = %(t)s AND status = 'won'),
        (SELECT MIN(close_date) FROM pipeline_deal WHERE tenant_id = %(t)s AND status = 'lost'),
        (SELECT MIN(expected_close_date) FROM pipeline_deal
         WHERE tenant_id = %(t)s AND status = 'open'),
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
SELECT p.id, p.fiscal_year,
       (first.lo IS NOT NULL AND p."end" >= first.lo
        AND (horizon.hi IS NULL OR p.start <= horizon.hi)) AS live
FROM spm_fiscalperiod p, first, horizon
WHERE p.tenant_id = %(t)s
"""


def periods_live(
    tenant: Tenant, *, today: dt.date | None = None
) -> tuple[dict[int, int], set[int]]:
    """Split the tenant's periods into those the engine computes and those it
    skips: periods ending before the first deal, activity, lead, customer,
    stage change or quota (nothing to count), and periods starting after the
    current fiscal year and the quarter after it (zeros and today's open
    pipeline only; they come into range as time passes and the nightly run
    picks them up). Returns ({live period id: fiscal year}, skipped ids).
    Call inside the tenant's context."""
    if today is None:
        today = timezone.localtime(timezone=ZoneInfo(tenant.time_zone)).date()
    with connection.cursor() as cursor:
        cursor.execute(LIVE_SQL, {"t": tenant.pk, "today": today, "tz": tenant.time_zone})
        rows = cursor.fetchall()
    live = {pk: year for pk, year, ok in rows if ok}
    return live, {pk for pk, _year, ok in rows if not ok}


def _period_chunks(tenant: Tenant) -> tuple[list[list[int]], list[int]]:
    """The live periods of the tenant, one chunk per fiscal year (months,
    quarters, year), and the skipped ones."""
    live, skipped = periods_live(tenant)
    chunks: dict[int, list[int]] = {}
    for pk, year in live.items():
        chunks.setdefault(year, []).append(pk)
    return [sorted(chunks[year]) for year in sorted(chunks)], sorted(skipped)


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
        if run_id is None:
            run_id = task_run_create(
                tenant, kind=RUN_FULL, label="Recompute all KPIs", created_by=created_by
            ).pk
        task_run_start(tenant, run_id=run_id, total=len(chunks))
    rows, done, skipped = 0, 0, 0
    try:
        for chunk in chunks:
            with tenant_context(tenant):
                locked, busy = _locked(tenant, chunk)
                rows += kpi_recompute(tenant, period_ids=locked)
                if busy:
                    periods_mark_dirty(tenant, period_ids=busy)
                skipped += len(busy)
            done += 1
            with tenant_context(tenant):
                TaskRun.objects.filter(tenant=tenant, pk=run_id).update(
                    progress_done=done, rows=rows
                )
    except Exception as exc:
        with tenant_context(tenant):
            task_run_finish(tenant, run_id=run_id, ok=False, rows=rows, message=str(exc)[:2000])
        raise
    with tenant_context(tenant):
        task_run_finish(
            tenant,
            run_id=run_id,
            ok=True,
            rows=rows,
            message=f"{rows} values in {sum(map(len, chunks))} periods",
            result={
                "periods": sum(map(len, chunks)),
                "skipped_busy": skipped,
                "skipped_out_of_range": len(skipped_ids),
                "cleared": cleared,
            },
        )
        return TaskRun.objects.get(tenant=tenant, pk=run_id)


def kpi_recompute_dirty(tenant: Tenant) -> TaskRun | None:
    """Recompute the periods marked dirty since the last run (the on-change and
    every-few-minutes path). Claims the dirty rows and computes them in one
    transaction under the periods' advisory locks; a period another run holds
    stays dirty. Returns the recorded run, or None when nothing was dirty.
    Call outside any tenant context."""
    cache.delete(QUEUED_KEY.format(tenant_id=tenant.pk))
    with tenant_context(tenant):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT period_id FROM kpis_dirtyperiod WHERE tenant_id = %s "
                "ORDER BY period_id FOR UPDATE SKIP LOCKED",
                [tenant.pk],
            )
            candidates = [row[0] for row in cursor.fetchall()]
        if not candidates:
            return None
        run = task_run_create(
            tenant, kind=RUN_INCREMENTAL, label=f"Recompute {len(candidates)} changed periods"
        )
        started = timezone.now()
        locked, busy = _locked(tenant, candidates)
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM kpis_dirtyperiod WHERE tenant_id = %s AND period_id = ANY(%s)",
                [tenant.pk, locked],
            )
        live, _skipped = periods_live(tenant)
        # A changed date marks its month, quarter and year: the facts of the
        # dirty months are computed again, the other periods re-derived from
        # their stored months (a quota change marks no month: nothing to count).
        fact_months = FiscalPeriod.objects.filter(
            tenant=tenant, pk__in=locked, kind=PeriodKind.MONTH
        ).values_list("start", flat=True)
        rows = kpi_recompute(
            tenant,
            period_ids=[pk for pk in locked if pk in live],
            fact_months=list(fact_months),
        )
        engine.clear(tenant, period_ids=[pk for pk in locked if pk not in live])
        labels = list(
            FiscalPeriod.objects.filter(tenant=tenant, pk__in=locked)
            .order_by("start", "kind")
            .values_list("label", flat=True)
        )
        TaskRun.objects.filter(tenant=tenant, pk=run.pk).update(
            status=TaskRun.Status.SUCCEEDED,
            started_at=started,
            finished_at=timezone.now(),
            progress_total=1,
            progress_done=1,
            rows=rows,
            message=f"{rows} values in {', '.join(labels)}",
            result={"periods": locked, "busy": busy},
        )
        run.refresh_from_db()
        return run
