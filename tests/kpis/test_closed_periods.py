"""A closed period's KPI values are frozen: a late change to one of its deals
is recorded (the period stays marked) and shown on the runs page, never
computed into its figures; the quarter and year around a closed month keep
adding up to what was closed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from kpis import selectors, services
from kpis.models import DirtyPeriod
from spm.models import FiscalPeriod
from spm.services import period_close
from tests.conftest import client_for
from tests.kpis.factories import period, recompute, value, won_deal

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _end_of_q1():
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def closed_january(world_a, in_tenant_a):
    """rep1 won 20,000.00 on Jan 20; every FY2027 period computed; January closed."""
    t, w = world_a.tenant, world_a
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 1, 20))
    recompute(t, *FiscalPeriod.objects.filter(tenant=t, fiscal_year=2027))
    DirtyPeriod.objects.filter(tenant=t).delete()
    period_close(t, period=period(t, "month"), actor=w.admin.user)
    return w


def _bookings(w, kind: str, number: int = 1) -> Decimal | None:
    return value(w.tenant, period(w.tenant, kind, number=number), "member", w.rep1.pk, "bookings")


def test_a_late_deal_of_a_closed_month_is_recorded_not_computed(closed_january):
    """A 5,000.00 deal won on Jan 25, after January closed, and an 8,000.00
    deal won on Feb 10: February and Q1 take February's deal; January stays
    at 20,000.00 and Q1 adds up to the closed January (20,000.00 + 8,000.00);
    January stays marked as changed after its close."""
    w = closed_january
    t = w.tenant
    won_deal(t, w.rep1, "5000.00", D(2027, 1, 3), D(2027, 1, 25))
    won_deal(t, w.rep1, "8000.00", D(2027, 2, 1), D(2027, 2, 10))
    services.periods_mark_dirty(t, dates=[D(2027, 1, 25), D(2027, 2, 10)])

    run = services.kpi_recompute_dirty(t)

    assert run is not None
    assert sorted(
        FiscalPeriod.objects.filter(pk__in=run.result["periods"]).values_list("label", flat=True)
    ) == ["FY2027", "FY2027 Q1", "Feb 2027"]
    assert _bookings(w, "month") == Decimal("20000.00")
    assert _bookings(w, "month", number=2) == Decimal("8000.00")
    assert _bookings(w, "quarter") == Decimal("28000.00")
    assert [m.period.label for m in selectors.kpi_changes_after_close(t)] == ["Jan 2027"]
    assert services.kpi_recompute_dirty(t) is None


def test_the_full_recompute_leaves_a_closed_month_as_it_was_closed(closed_january):
    w = closed_january
    t = w.tenant
    won_deal(t, w.rep1, "5000.00", D(2027, 1, 3), D(2027, 1, 25))

    services.kpi_recompute_full(t)

    assert _bookings(w, "month") == Decimal("20000.00")
    assert _bookings(w, "quarter") == Decimal("20000.00")
    assert _bookings(w, "year") == Decimal("20000.00")


def test_no_recompute_writes_a_closed_periods_values(closed_january):
    w = closed_january

    with pytest.raises(ValidationError) as caught:
        services.kpi_recompute(w.tenant, period_ids=[period(w.tenant, "month").pk])

    assert caught.value.message_dict == {
        "period": ["Jan 2027 is closed; its KPI values are frozen."]
    }
    assert _bookings(w, "month") == Decimal("20000.00")


def test_the_runs_page_shows_the_periods_changed_after_close(closed_january):
    w = closed_january
    services.periods_mark_dirty(w.tenant, dates=[D(2027, 1, 25)])

    body = client_for(w.admin.user).get(f"/{w.tenant.slug}/kpis/runs/").content.decode()

    assert 'data-testid="changed-after-close"' in body
    assert "<td>Jan 2027</td>" in body
