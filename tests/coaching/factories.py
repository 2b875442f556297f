"""Helpers of the coaching tests: KPI snapshots and a 1:1 series with a held
meeting, built through the services. Call them inside ``tenant_context``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import time_machine
from django.utils import timezone

from coaching import services
from coaching.models import Meeting, MeetingStatus, Series
from kpis.models import KpiValue
from spm.models import FiscalPeriod


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """``day`` at ``hour`` o'clock UTC, aware."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def q1(tenant: Any) -> FiscalPeriod:
    return FiscalPeriod.objects.get(tenant=tenant, kind="quarter", fiscal_year=2027, number=1)


def kpis_set(tenant: Any, member: Any, period: FiscalPeriod, **values: str | None) -> None:
    """Write ``member``'s KPI snapshot values of ``period`` as the engine would."""
    for kpi, value in values.items():
        KpiValue.objects.update_or_create(
            tenant=tenant,
            period=period,
            subject_kind="member",
            subject_id=member.pk,
            kpi=kpi,
            defaults={
                "value": None if value is None else Decimal(value),
                "computed_at": timezone.now(),
            },
        )


def series_with_held_meeting(world: Any, *, held_on: dt.date) -> tuple[Series, Meeting]:
    """A 1:1 series of ``world.manager`` with ``world.rep1`` every 30 days; its
    first meeting on ``held_on`` is held (its KPI baseline kept) and the next
    one scheduled. Returns the series and the next (scheduled) meeting."""
    t = world.tenant
    with time_machine.travel(at(held_on, 9), tick=False):
        series = services.series_create(
            t, actor=world.manager, member=world.rep1, first_at=at(held_on), every_days=30
        )
        first = Meeting.objects.get(tenant=t, series=series)
        services.meeting_hold(t, actor=world.manager, meeting=first)
    upcoming = Meeting.objects.get(tenant=t, series=series, status=MeetingStatus.SCHEDULED)
    return series, upcoming
