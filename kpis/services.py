"""Every write of the KPI pillar: recomputes (full, incremental), the queue of
dirty periods, goal progress, KPI settings and custom KPIs.

Services take the tenant first and keyword-only arguments after it, and run
inside the tenant's context (STYLE.md habits 4 and 5).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from goals.models import PERCENT_METRICS
from goals.services import goal_progress_record
from kpis import engine
from kpis.definitions import BY_KEY, LOWER, MEASURE_KEYS
from kpis.formula import validate as formula_validate
from kpis.models import CustomKpi, KpiSetting, KpiValue
from spm.celery import app
from spm.db.locks import try_advisory_xact_lock
from spm.models import FiscalPeriod, Membership, PeriodKind, TaskRun, Tenant
from spm.services import audit_record, task_run_create, task_run_finish, task_run_start
from spm.tenancy.context import tenant_context

log = logging.getLogger(__name__)

RUN_FULL = "kpis.recompute"
RUN_INCREMENTAL = "kpis.incremental"
QUEUED_KEY = "kpis:queued:{tenant_id}"
DIRTY_TASK = "kpis.tasks.kpis_recompute_dirty"


def debounce_seconds() -> float:
    """How long changes settle before the on-change recompute runs."""
    return float(getattr(settings, "KPI_RECOMPUTE_DEBOUNCE_SECONDS", 1.0))


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
        (SELECT MIN(c.start) FROM goals_quota q JOIN spm_fiscalperiod c ON c.id = q.period_id
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


# The dirty-period queue -----------------------------------------------------------------

MARK_DATES_SQL = """
INSERT INTO kpis_dirtyperiod (tenant_id, period_id, marked_at)
SELECT p.tenant_id, p.id, now() FROM spm_fiscalperiod p
WHERE p.tenant_id = %s
  AND EXISTS (SELECT 1 FROM unnest(%s::date[]) d WHERE d BETWEEN p.start AND p."end")
ON CONFLICT (tenant_id, period_id) DO NOTHING
"""

MARK_IDS_SQL = """
INSERT INTO kpis_dirtyperiod (tenant_id, period_id, marked_at)
SELECT p.tenant_id, p.id, now() FROM spm_fiscalperiod p
WHERE p.tenant_id = %s AND EXISTS (
    SELECT 1 FROM spm_fiscalperiod c
    WHERE c.tenant_id = p.tenant_id AND c.id = ANY(%s) AND p.start <= c.start AND p."end" >= c."end"
)
ON CONFLICT (tenant_id, period_id) DO NOTHING
"""


MARK_ALL_SQL = """
INSERT INTO kpis_dirtyperiod (tenant_id, period_id, marked_at)
SELECT p.tenant_id, p.id, now() FROM spm_fiscalperiod p WHERE p.tenant_id = %s
ON CONFLICT (tenant_id, period_id) DO NOTHING
"""


def periods_mark_dirty(
    tenant: Tenant,
    *,
    dates: Iterable[dt.date] = (),
    period_ids: Iterable[int] = (),
    everything: bool = False,
) -> None:
    """Queue the periods (months, quarters and years) containing ``dates``, and
    ``period_ids`` with the periods containing them, for the next incremental
    recompute; ``everything`` queues every period (the team tree changed, so
    every roll-up may have). Call inside the tenant's context."""
    day_list = sorted({d for d in dates if d is not None})
    ids = sorted(set(period_ids))
    with connection.cursor() as cursor:
        if everything:
            cursor.execute(MARK_ALL_SQL, [tenant.pk])
            return
        if day_list:
            cursor.execute(MARK_DATES_SQL, [tenant.pk, day_list])
        if ids:
            cursor.execute(MARK_IDS_SQL, [tenant.pk, ids])


def recompute_enqueue(tenant_id: int) -> bool:
    """Schedule one incremental recompute of the tenant after a short settle
    time, unless one is already queued (bursts coalesce into one run).
    Returns whether a task was sent. Broker or cache faults are logged, not
    raised: the dirty periods stay queued and the every-few-minutes schedule
    picks them up."""
    try:
        if not cache.add(QUEUED_KEY.format(tenant_id=tenant_id), 1, timeout=120):
            return False
        # By name: kpis.tasks imports this module.
        app.send_task(
            DIRTY_TASK,
            args=(tenant_id,),
            countdown=debounce_seconds(),
            queue=app.conf.task_default_queue,
        )
    except Exception:
        log.exception("Could not enqueue the KPI recompute of tenant %s", tenant_id)
        return False
    return True


# Goals measured by a KPI ---------------------------------------------------------------

GOALS_SQL = """
SELECT g.id, g.metric, v.value
FROM goals_goal g
JOIN LATERAL (
    SELECT p.id FROM spm_fiscalperiod p
    WHERE p.tenant_id = g.tenant_id AND p.start <= g.start_date AND p."end" >= g.due_date
    ORDER BY p."end" - p.start, p.start LIMIT 1
) gp ON true
LEFT JOIN kpis_kpivalue v
  ON v.tenant_id = g.tenant_id AND v.period_id = gp.id AND v.kpi = g.metric
 AND v.subject_kind = CASE g.level WHEN 'member' THEN 'member' WHEN 'team' THEN 'team'
                                   ELSE 'tenant' END
 AND v.subject_id = COALESCE(g.owner_membership_id, g.owner_team_id, 0)
WHERE g.tenant_id = %s AND g.metric <> 'manual' AND gp.id = ANY(%s)
"""


def goals_progress_update(tenant: Tenant, *, period_ids: Sequence[int]) -> int:
    """Give every KPI-metric goal whose span falls in ``period_ids`` its current
    value: the KPI of its owner (member, team or company) in the shortest
    period covering the goal's start and due dates. Percent metrics go to the
    goals app as percentages (55.56 for an attainment of 0.5556), the way its
    targets are entered. One query, then ``goals.services.goal_progress_record``."""
    with connection.cursor() as cursor:
        cursor.execute(GOALS_SQL, [tenant.pk, list(period_ids)])
        rows = cursor.fetchall()
    values: dict[int, Decimal] = {}
    for goal_id, metric, value in rows:
        if value is not None and metric in PERCENT_METRICS:
            value = (value * 100).quantize(Decimal("0.0001"))
        elif value is not None:
            value = value.quantize(Decimal("0.0001"))
        values[goal_id] = value
    if not values:
        return 0
    return goal_progress_record(tenant, values=values)


# Settings and custom KPIs --------------------------------------------------------------


def kpi_setting_save(
    tenant: Tenant, *, actor: Membership, kpi: str, role: str = "", team: Any = None, **fields: Any
) -> KpiSetting:
    """Create or replace the setting of ``kpi`` for a scope (all, a role, a team).

    Raises ValidationError naming the field: unknown KPI, team of another
    tenant, thresholds in the wrong order for the direction."""
    known = MEASURE_KEYS | {c.value_key for c in CustomKpi.objects.filter(tenant=tenant)}
    if kpi not in known:
        raise ValidationError({"kpi": f"'{kpi}' is not a KPI of this tenant."})
    if team is not None and team.tenant_id != tenant.pk:
        raise ValidationError({"team": "Choose a team of this tenant."})
    direction = fields.get("direction") or (BY_KEY[kpi].direction if kpi in BY_KEY else "higher")
    green, amber = fields.get("green_from"), fields.get("amber_from")
    if green is not None and amber is not None:
        wrong = green > amber if direction == LOWER else green < amber
        if wrong:
            word = "at most" if direction == LOWER else "at least"
            raise ValidationError(
                {"green_from": f"With this direction, green must start {word} where amber starts."}
            )
    with transaction.atomic():
        setting, _ = KpiSetting.objects.update_or_create(
            tenant=tenant,
            kpi=kpi,
            role=role or "",
            team=team,
            defaults={**fields, "direction": direction},
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="kpi_setting.save",
            obj=setting,
            data={"kpi": kpi, "role": role, "team": team.pk if team else None},
        )
    return setting


def kpi_setting_delete(tenant: Tenant, *, actor: Membership, setting: KpiSetting) -> None:
    with transaction.atomic():
        audit_record(
            tenant,
            actor=actor.user,
            action="kpi_setting.delete",
            obj=setting,
            data={"kpi": setting.kpi},
        )
        setting.delete()


def custom_kpi_save(
    tenant: Tenant,
    *,
    actor: Membership,
    key: str,
    name: str,
    formula: str,
    unit: str = "number",
    direction: str = "higher",
    description: str = "",
    instance: CustomKpi | None = None,
) -> CustomKpi:
    """Create or change a custom KPI. The formula is checked first (FormulaError,
    a ValidationError on ``formula``, says what is wrong); the values of every
    period are then recomputed in the background."""
    formula_validate(formula)
    if key in MEASURE_KEYS:
        raise ValidationError({"key": f"'{key}' is a built-in KPI; choose another key."})
    kpi = instance or CustomKpi(tenant=tenant)
    kpi.key, kpi.name, kpi.formula = key, name.strip(), formula.strip()
    kpi.unit, kpi.direction, kpi.description = unit, direction, description
    kpi.full_clean(exclude=["tenant"], validate_unique=False)
    with transaction.atomic():
        clash = CustomKpi.objects.filter(tenant=tenant, key=key).exclude(pk=kpi.pk).exists()
        if clash:
            raise ValidationError({"key": f"A custom KPI with the key '{key}' exists already."})
        kpi.save()
        audit_record(
            tenant,
            actor=actor.user,
            action="custom_kpi.save",
            obj=kpi,
            data={"key": key, "formula": kpi.formula},
        )
        periods_mark_dirty(
            tenant,
            period_ids=FiscalPeriod.objects.filter(tenant=tenant).values_list("pk", flat=True),
        )
        transaction.on_commit(lambda: recompute_enqueue(tenant.pk))
    return kpi


def custom_kpi_delete(tenant: Tenant, *, actor: Membership, kpi: CustomKpi) -> None:
    """Remove a custom KPI with its stored values and settings."""
    with transaction.atomic():
        audit_record(
            tenant, actor=actor.user, action="custom_kpi.delete", obj=kpi, data={"key": kpi.key}
        )
        KpiValue.objects.filter(tenant=tenant, kpi=kpi.value_key).delete()
        KpiSetting.objects.filter(tenant=tenant, kpi=kpi.value_key).delete()
        kpi.delete()
