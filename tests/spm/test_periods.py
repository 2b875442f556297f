import datetime as dt

import pytest

from spm import selectors, services
from spm.models import FiscalPeriod
from spm.periods import active_days, fiscal_year_of, fiscal_year_periods
from spm.tenancy.context import tenant_context


def test_calendar_fiscal_year_has_twelve_months_four_quarters_one_year():
    specs = fiscal_year_periods(2027, 1)
    year = [s for s in specs if s.kind == "year"]
    quarters = [(s.label, s.start, s.end) for s in specs if s.kind == "quarter"]
    assert [(s.label, s.start, s.end) for s in year] == [
        ("FY2027", dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    ]
    assert quarters == [
        ("FY2027 Q1", dt.date(2027, 1, 1), dt.date(2027, 3, 31)),
        ("FY2027 Q2", dt.date(2027, 4, 1), dt.date(2027, 6, 30)),
        ("FY2027 Q3", dt.date(2027, 7, 1), dt.date(2027, 9, 30)),
        ("FY2027 Q4", dt.date(2027, 10, 1), dt.date(2027, 12, 31)),
    ]
    assert [s.label for s in specs if s.kind == "month"][:3] == ["Jan 2027", "Feb 2027", "Mar 2027"]


def test_february_start_names_the_year_by_its_end():
    specs = fiscal_year_periods(2027, 2)
    year = next(s for s in specs if s.kind == "year")
    q4 = next(s for s in specs if s.kind == "quarter" and s.number == 4)
    assert (year.start, year.end) == (dt.date(2026, 2, 1), dt.date(2027, 1, 31))
    assert (q4.start, q4.end) == (dt.date(2026, 11, 1), dt.date(2027, 1, 31))
    assert fiscal_year_of(dt.date(2026, 2, 1), 2) == 2027
    assert fiscal_year_of(dt.date(2026, 1, 31), 2) == 2026


def test_q1_2027_has_90_days_and_a_feb_10_start_is_active_50():
    # docs/formulas.md section 1: Q1 2027 runs Jan 1 to Mar 31 (90 days); Feb 10 start -> 50 days.
    q1 = next(s for s in fiscal_year_periods(2027, 1) if s.kind == "quarter" and s.number == 1)
    assert (q1.end - q1.start).days + 1 == 90
    assert active_days(q1.start, q1.end, dt.date(2027, 2, 10), None) == 50
    assert active_days(q1.start, q1.end, dt.date(2026, 5, 1), dt.date(2027, 1, 31)) == 31
    assert active_days(q1.start, q1.end, dt.date(2027, 4, 1), None) == 0


@pytest.mark.django_db
def test_tenant_create_generates_five_fiscal_years_and_period_containing_finds_them():
    tenant = services.tenant_create(
        name="Gamma", slug="gamma", fiscal_year_start_month=4, today=dt.date(2027, 2, 15)
    )
    with tenant_context(tenant):
        years = sorted(
            FiscalPeriod.objects.filter(kind="year").values_list("fiscal_year", flat=True)
        )
        assert years == [2025, 2026, 2027, 2028, 2029]
        assert FiscalPeriod.objects.count() == 5 * 17
        quarter = selectors.period_containing(tenant, day=dt.date(2027, 2, 15), kind="quarter")
        assert (quarter.label, quarter.start, quarter.end) == (
            "FY2027 Q4",
            dt.date(2027, 1, 1),
            dt.date(2027, 3, 31),
        )
        # Idempotent: ensuring again creates nothing new.
        services.periods_ensure(tenant, around=dt.date(2027, 2, 15))
        assert FiscalPeriod.objects.count() == 85


@pytest.mark.django_db
def test_closing_a_period_twice_is_refused(world_a):
    from django.core.exceptions import ValidationError

    with tenant_context(world_a.tenant):
        period = selectors.period_containing(world_a.tenant, day=dt.date(2027, 1, 5))
        services.period_close(world_a.tenant, period=period, actor=world_a.admin.user)
        with pytest.raises(ValidationError, match="Jan 2027 is already closed."):
            services.period_close(world_a.tenant, period=period, actor=world_a.admin.user)


@pytest.mark.django_db
def test_fiscal_start_cannot_change_once_a_period_is_closed(world_a):
    from django.core.exceptions import ValidationError

    with tenant_context(world_a.tenant):
        services.tenant_update(world_a.tenant, actor=world_a.admin.user, fiscal_year_start_month=7)
        first = FiscalPeriod.objects.filter(kind="year", fiscal_year=2027).get()
        assert (first.start, first.end) == (dt.date(2026, 7, 1), dt.date(2027, 6, 30))
        services.period_close(world_a.tenant, period=first, actor=world_a.admin.user)
        with pytest.raises(ValidationError) as exc:
            services.tenant_update(
                world_a.tenant, actor=world_a.admin.user, fiscal_year_start_month=1
            )
    assert exc.value.message_dict == {
        "fiscal_year_start_month": ["Periods have been closed; the fiscal calendar is fixed."]
    }
