"""Objects of the KPI pillar for the isolation tests (see test_discovery.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from kpis import services
from kpis.models import DirtyPeriod, KpiValue
from spm.models import FiscalPeriod


def make_objects(world: Any) -> list[Any]:
    t = world.tenant
    q1 = FiscalPeriod.objects.get(tenant=t, kind="quarter", fiscal_year=2027, number=1)
    value = KpiValue.objects.create(
        tenant=t,
        period=q1,
        subject_kind="member",
        subject_id=world.rep1.pk,
        kpi="bookings",
        value=Decimal("50000.00"),
        computed_at=timezone.now(),
    )
    dirty = DirtyPeriod.objects.create(tenant=t, period=q1, marked_at=timezone.now())
    setting = services.kpi_setting_save(
        t, actor=world.admin, kpi="attainment", green_from=Decimal("1"), amber_from=Decimal("0.5")
    )
    custom = services.custom_kpi_save(
        t,
        actor=world.admin,
        key="bookings_per_activity",
        name="Bookings per activity",
        formula="bookings / activities",
    )
    return [value, dirty, setting, custom, world.rep1, world.team]
