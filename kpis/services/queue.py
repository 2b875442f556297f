"""The queue of dirty periods (coalescing) and the debounced on-change enqueue."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from spm.celery import enqueue
from spm.models import Tenant

log = logging.getLogger(__name__)


QUEUED_KEY = "kpis:queued:{tenant_id}"
# The tasks the services start (declared in kpis.tasks).
DIRTY_TASK = "kpis.tasks.kpis_recompute_dirty"
FULL_TASK = "kpis.tasks.kpis_recompute_tenant"


def debounce_seconds() -> float:
    """How long changes settle before the on-change recompute runs."""
    return float(getattr(settings, "KPI_RECOMPUTE_DEBOUNCE_SECONDS", 1.0))


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
        enqueue(DIRTY_TASK, tenant_id, countdown=debounce_seconds())
    except Exception:
        log.exception("Could not enqueue the KPI recompute of tenant %s", tenant_id)
        return False
    return True
