"""Celery tasks of the coaching pillar: thin wrappers around its services."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from coaching import selectors, services
from pipeline.services import tenant_today
from spm.celery import app
from spm.db.locks import try_advisory_xact_lock
from spm.models import FiscalPeriod, Tenant
from spm.tasks import tenant_task


@tenant_task()
def milestones_recognise_task(tenant: Tenant, period_ids: list[int] | None = None) -> int:
    """Recognise milestones of ``period_ids`` (None: the quarters and years
    under way and those closed); returns how many are new. Safe to run twice;
    one scan per tenant at a time."""
    if not try_advisory_xact_lock(tenant.pk, "coaching.milestones"):
        return 0
    if period_ids is None:
        periods = selectors.periods_to_recognise(tenant, today=tenant_today(tenant))
    else:
        periods = list(FiscalPeriod.objects.filter(tenant=tenant, pk__in=period_ids))
    return services.milestones_recognise(tenant, periods=periods)


@tenant_task()
def meeting_reminders_task(tenant: Tenant) -> int:
    """Remind both people of each 1:1 within the next day; returns the mails sent."""
    if not try_advisory_xact_lock(tenant.pk, "coaching.reminders"):
        return 0
    return services.meeting_reminders_send(tenant, now=timezone.now())


@tenant_task()
def agendas_refresh_task(tenant: Tenant) -> int:
    """Bring the agendas of the 1:1s of the next two days up to date."""
    now = timezone.now()
    meetings = selectors.meetings_between(tenant, start=now, end=now + dt.timedelta(days=2))
    today = tenant_today(tenant)
    for meeting in meetings:  # the few 1:1s of two days
        services.agenda_refresh(tenant, meeting=meeting, today=today)
    return len(meetings)


@app.task(name="coaching.tasks.coaching_daily")
def coaching_daily() -> int:
    """Beat entry point (daily): per tenant, the 1:1 reminders of the next
    day, the agendas of the next two days, the milestone scan."""
    tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        meeting_reminders_task.delay(tenant_id)
        agendas_refresh_task.delay(tenant_id)
        milestones_recognise_task.delay(tenant_id)
    return len(tenant_ids)
