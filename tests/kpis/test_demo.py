"""The demo seed leaves the dashboards filled: snapshots agree with the raw data."""

from __future__ import annotations

import datetime as dt

import pytest

from kpis.models import KpiValue, SubjectKind
from pipeline.selectors import won_bookings_by_member
from spm.demo import ACME, GLOBEX, seed_demo
from spm.models import FiscalPeriod, Tenant
from spm.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_seed_computes_bookings_snapshots_that_match_the_deals():
    seed_demo(seed=3, today=dt.date(2027, 2, 15))
    tenant = Tenant.objects.get(slug=ACME.slug)
    with tenant_context(tenant):
        quarter = FiscalPeriod.objects.get(kind="quarter", fiscal_year=2026, number=3)
        expected = {
            member_id: amount
            for member_id, amount in won_bookings_by_member(
                tenant, start=quarter.start, end=quarter.end
            ).items()
            if amount
        }
        snapshots = {
            row.subject_id: row.value
            for row in KpiValue.objects.filter(
                period=quarter, kpi="bookings", subject_kind=SubjectKind.MEMBER
            )
            if row.value
        }
    assert len(expected) >= 10
    assert snapshots == expected
    # The second tenant is German: euros, written 1.234,56 and 15.02.2027.
    assert Tenant.objects.filter(slug=GLOBEX.slug).values_list("currency", "locale").get() == (
        "EUR",
        "de-DE",
    )
