"""Quota services: set, history, closed periods, allocation, spreading, roll-ups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from goals import selectors, services
from goals.models import Quota, QuotaChange, QuotaSource, SeasonalityProfile
from spm import services as core_services
from spm.models import AuditEvent, Role
from tests.goals.factories import QuotaFactory, period
from tests.pipeline.factories import DealFactory

pytestmark = pytest.mark.django_db


def test_quota_set_creates_and_changes_with_history(world_a, in_tenant_a):
    t, manager = world_a.tenant, world_a.manager
    q1 = period(t, "quarter", 2027, 1)
    quota = services.quota_set(
        t, actor=manager, period=q1, membership=world_a.rep1, amount=Decimal("90000.00")
    )
    services.quota_set(
        t, actor=manager, period=q1, membership=world_a.rep1, amount=Decimal("95000.00")
    )
    services.quota_set(
        t, actor=manager, period=q1, membership=world_a.rep1, amount=Decimal("95000.00")
    )
    quota.refresh_from_db()
    assert quota.amount == Decimal("95000.00")
    history = list(
        QuotaChange.objects.filter(quota=quota)
        .order_by("id")
        .values_list("old_amount", "new_amount", "changed_by__email", "source")
    )
    assert history == [
        (None, Decimal("90000.00"), "manager@alpha.test", "manual"),
        (Decimal("90000.00"), Decimal("95000.00"), "manager@alpha.test", "manual"),
    ]
    assert (
        list(AuditEvent.objects.filter(action="quota.set").values_list("object_id", flat=True))
        == [str(quota.pk)] * 3
    )


def test_quota_of_a_closed_period_cannot_change(world_a, in_tenant_a):
    t = world_a.tenant
    jan = period(t, "month", 2027, 1)
    quota = QuotaFactory(
        tenant=t,
        actor=world_a.admin,
        period=jan,
        membership=world_a.rep1,
        amount=Decimal("30000.00"),
    )
    core_services.period_close(t, period=jan, actor=world_a.admin.user)
    jan.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        services.quota_set(
            t, actor=world_a.admin, period=jan, membership=world_a.rep1, amount=Decimal("1.00")
        )
    assert exc.value.message_dict == {
        "period": ["Jan 2027 is closed; its quotas cannot be changed."]
    }
    with pytest.raises(ValidationError):
        services.quota_delete(t, actor=world_a.admin, quota=quota)
    quota.refresh_from_db()
    assert quota.amount == Decimal("30000.00")
    assert QuotaChange.objects.filter(period=jan).count() == 1


def test_quota_set_refuses_bad_amounts_and_inactive_members(world_a, in_tenant_a):
    t = world_a.tenant
    q4_2026 = period(t, "quarter", 2026, 4)
    with pytest.raises(ValidationError) as negative:
        services.quota_set(
            t, actor=world_a.admin, period=q4_2026, membership=world_a.rep1, amount=Decimal("-1.00")
        )
    assert negative.value.message_dict == {"amount": ["A quota cannot be negative."]}
    with pytest.raises(ValidationError) as inactive:
        services.quota_set(
            t, actor=world_a.admin, period=q4_2026, membership=world_a.rep2, amount=Decimal("10.00")
        )
    assert inactive.value.message_dict == {
        "membership": ["Rita Two is not active in FY2026 Q4 (active 2027-02-10 to now)."]
    }
    assert Quota.objects.count() == 0


def test_a_manager_cannot_set_quotas_outside_their_subtree_or_their_own(world_a, in_tenant_a):
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    with pytest.raises(ValidationError) as other:
        services.quota_set(
            t,
            actor=world_a.other_manager,
            period=q1,
            membership=world_a.rep1,
            amount=Decimal("10.00"),
        )
    assert other.value.message_dict == {"membership": ["You cannot set quotas for this member."]}
    with pytest.raises(ValidationError) as own:
        services.quota_set(
            t,
            actor=world_a.other_manager,
            period=q1,
            membership=world_a.other_manager,
            amount=Decimal("10.00"),
        )
    assert own.value.message_dict == {"membership": ["You cannot set quotas for this member."]}
    with pytest.raises(ValidationError) as rep:
        services.quota_set(
            t, actor=world_a.rep1, period=q1, membership=world_a.rep1, amount=Decimal("10.00")
        )
    assert rep.value.message_dict == {"membership": ["You cannot set quotas for this member."]}
    assert Quota.objects.count() == 0


def test_proration_in_the_grid_reproduces_formulas(world_a, in_tenant_a):
    # rep2 starts Feb 10, 2027: a 90,000.00 Q1 quota counts 50,000.00 (docs/formulas.md section 1).
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    QuotaFactory(
        tenant=t,
        actor=world_a.manager,
        period=q1,
        membership=world_a.rep2,
        amount=Decimal("90000.00"),
    )
    QuotaFactory(
        tenant=t,
        actor=world_a.manager,
        period=q1,
        membership=world_a.rep1,
        amount=Decimal("90000.00"),
    )
    grid = selectors.quota_grid(t, viewer=world_a.manager, fiscal_year=2027, kind="quarter")
    west = next(s for s in grid.sections if s.team.name == "West")
    cells = {row.label: row.cells[0] for row in west.member_rows}
    assert (
        cells["Rita Two"].amount,
        cells["Rita Two"].effective,
        cells["Rita Two"].active_days,
    ) == (Decimal("90000.00"), Decimal("50000.00"), 50)
    assert cells["Ray One"].effective == Decimal("90000.00")
    assert west.members_sum == [
        Decimal("140000.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]
    assert grid.column_totals[0] == Decimal("140000.00")


def test_bottom_up_shows_team_quota_beside_members_sum_and_gap(world_a, in_tenant_a):
    t = world_a.tenant
    jan = period(t, "month", 2027, 1)
    QuotaFactory(
        tenant=t, actor=world_a.manager, period=jan, team=world_a.team, amount=Decimal("70000.00")
    )
    QuotaFactory(
        tenant=t,
        actor=world_a.manager,
        period=jan,
        membership=world_a.rep1,
        amount=Decimal("40000.00"),
    )
    grid = selectors.quota_grid(t, viewer=world_a.manager, fiscal_year=2027, kind="month")
    west = next(s for s in grid.sections if s.team.name == "West")
    sales = next(s for s in grid.sections if s.team.name == "Sales")
    assert (west.team_row.cells[0].amount, west.members_sum[0], west.gap[0]) == (
        Decimal("70000.00"),
        Decimal("40000.00"),
        Decimal("30000.00"),
    )
    assert west.gap[1] is None
    assert (sales.team_row.cells[0].amount, sales.members_sum[0], sales.gap[0]) == (
        None,
        Decimal("40000.00"),
        None,
    )


def test_monthly_quotas_roll_up_into_quarters_and_the_year(world_a, in_tenant_a):
    t = world_a.tenant
    for number, amount in ((1, "10000.00"), (2, "20000.00"), (4, "5000.00")):
        QuotaFactory(
            tenant=t,
            actor=world_a.admin,
            period=period(t, "month", 2027, number),
            membership=world_a.rep1,
            amount=Decimal(amount),
        )
    quarters = selectors.quota_grid(t, viewer=world_a.admin, fiscal_year=2027, kind="quarter")
    row = next(r for s in quarters.sections for r in s.member_rows if r.label == "Ray One")
    assert [c.rolled_up for c in row.cells] == [Decimal("30000.00"), Decimal("5000.00"), None, None]
    assert row.total == Decimal("35000.00")
    year = selectors.quota_grid(t, viewer=world_a.admin, fiscal_year=2027, kind="year")
    row = next(r for s in year.sections for r in s.member_rows if r.label == "Ray One")
    assert row.cells[0].rolled_up == Decimal("35000.00")


def test_quota_allocate_with_manual_weights_reproduces_formulas(world_a, in_tenant_a):
    t = world_a.tenant
    rep3 = core_services.membership_add(
        t,
        email="rep9@alpha.test",
        first_name="Cy",
        last_name="Zulu",
        role=Role.REP,
        team=world_a.team,
        start_date=dt.date(2026, 1, 1),
    )
    q2 = period(t, "quarter", 2027, 2)
    result = services.quota_allocate(
        t,
        actor=world_a.manager,
        team=world_a.team,
        period=q2,
        amount=Decimal("1000000"),
        method="manual",
        unit=Decimal("1000"),
        manual_weights={
            f"m{world_a.rep1.pk}": Decimal("410000"),
            f"m{world_a.rep2.pk}": Decimal("290000"),
            f"m{rep3.pk}": Decimal("200000"),
        },
    )
    assert [(p.label, p.amount) for p in result.parts] == [
        ("Ray One", Decimal("456000")),
        ("Rita Two", Decimal("322000")),
        ("Cy Zulu", Decimal("222000")),
    ]
    stored = dict(
        Quota.objects.filter(period=q2).values_list("membership__user__last_name", "amount")
    )
    assert stored == {
        None: Decimal("1000000.00"),
        "One": Decimal("456000.00"),
        "Two": Decimal("322000.00"),
        "Zulu": Decimal("222000.00"),
    }
    assert set(Quota.objects.filter(period=q2).values_list("source", flat=True)) == {
        QuotaSource.ALLOCATED
    }
    assert QuotaChange.objects.filter(period=q2).count() == 4
    assert AuditEvent.objects.filter(action="quota.allocate").count() == 1


def test_quota_allocate_by_prior_bookings_reads_the_pipeline(world_a, in_tenant_a):
    # Q2 2027 allocated by Q1 2027 bookings: A 410,000, B 290,000, C 200,000
    # (docs/formulas.md section 1).
    t = world_a.tenant
    rep3 = core_services.membership_add(
        t,
        email="rep9@alpha.test",
        first_name="Cy",
        last_name="Zulu",
        role=Role.REP,
        team=world_a.team,
        start_date=dt.date(2026, 1, 1),
    )
    for owner, amount, day in (
        (world_a.rep1, "410000.00", dt.date(2027, 1, 20)),
        (world_a.rep2, "290000.00", dt.date(2027, 3, 31)),
        (rep3, "150000.00", dt.date(2027, 2, 1)),
        (rep3, "50000.00", dt.date(2027, 3, 2)),
        (world_a.rep1, "999999.00", dt.date(2026, 12, 31)),
    ):
        DealFactory(
            tenant=t, owner=owner, amount=Decimal(amount), stage="Closed won", close_date=day
        )
    result = services.quota_allocate(
        t,
        actor=world_a.manager,
        team=world_a.team,
        period=period(t, "quarter", 2027, 2),
        amount=Decimal("1000000"),
        method="prior_bookings",
        unit=Decimal("1000"),
    )
    assert result.prior_period.label == "FY2027 Q1"
    assert [(p.label, p.weight, p.amount) for p in result.parts] == [
        ("Ray One", Decimal("410000.00"), Decimal("456000")),
        ("Rita Two", Decimal("290000.00"), Decimal("322000")),
        ("Cy Zulu", Decimal("200000.00"), Decimal("222000")),
    ]


def test_allocating_a_parent_team_fills_its_sub_teams(world_a, in_tenant_a):
    t = world_a.tenant
    result = services.quota_allocate(
        t,
        actor=world_a.admin,
        team=world_a.root_team,
        period=period(t, "year", 2027),
        amount=Decimal("1000000"),
        method="equal",
        unit=Decimal("1"),
    )
    assert [(p.label, p.amount) for p in result.parts] == [
        ("East", Decimal("500000")),
        ("West", Decimal("500000")),
    ]


def test_allocation_without_prior_bookings_says_what_to_do(world_a, in_tenant_a):
    t = world_a.tenant
    with pytest.raises(ValidationError) as exc:
        services.quota_allocate(
            t,
            actor=world_a.manager,
            team=world_a.team,
            period=period(t, "quarter", 2027, 2),
            amount=Decimal("1000"),
        )
    assert exc.value.message_dict == {
        "method": ["No bookings were won in FY2027 Q1; choose equal shares or enter weights."]
    }
    assert Quota.objects.count() == 0


def test_spread_a_quarter_evenly_and_a_year_by_profile(world_a, in_tenant_a):
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    QuotaFactory(
        tenant=t,
        actor=world_a.admin,
        period=q1,
        membership=world_a.rep1,
        amount=Decimal("100000.00"),
    )
    services.quota_spread(t, actor=world_a.admin, period=q1, members=[world_a.rep1])
    months = list(
        Quota.objects.filter(membership=world_a.rep1, period__kind="month")
        .order_by("period__start")
        .values_list("period__label", "amount", "source")
    )
    assert months == [
        ("Jan 2027", Decimal("33333.34"), "spread"),
        ("Feb 2027", Decimal("33333.33"), "spread"),
        ("Mar 2027", Decimal("33333.33"), "spread"),
    ]
    profile = services.seasonality_profile_save(
        t,
        actor=world_a.admin,
        name="Year-end heavy",
        weights=["1"] * 11 + ["12"],
    )
    year = period(t, "year", 2027)
    QuotaFactory(
        tenant=t, actor=world_a.admin, period=year, team=world_a.team, amount=Decimal("230000.00")
    )
    services.quota_spread(
        t, actor=world_a.admin, period=year, teams=[world_a.team], profile=profile
    )
    team_months = list(
        Quota.objects.filter(team=world_a.team, period__kind="month")
        .order_by("period__start")
        .values_list("amount", flat=True)
    )
    assert team_months == [Decimal("10000.00")] * 11 + [Decimal("120000.00")]
    assert SeasonalityProfile.objects.get().weights == ["1"] * 11 + ["12"]


def test_spread_into_a_closed_month_is_refused(world_a, in_tenant_a):
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    QuotaFactory(
        tenant=t,
        actor=world_a.admin,
        period=q1,
        membership=world_a.rep1,
        amount=Decimal("90000.00"),
    )
    core_services.period_close(t, period=period(t, "month", 2027, 1), actor=world_a.admin.user)
    with pytest.raises(ValidationError) as exc:
        services.quota_spread(t, actor=world_a.admin, period=q1, members=[world_a.rep1])
    assert exc.value.message_dict == {
        "period": ["Jan 2027 is closed; its quotas cannot be changed."]
    }
    assert Quota.objects.filter(period__kind="month").count() == 0


def test_bulk_upsert_is_all_or_nothing_and_names_the_row(world_a, in_tenant_a):
    t = world_a.tenant
    jan, feb = period(t, "month", 2027, 1), period(t, "month", 2027, 2)
    items = [
        services.QuotaInput(period=jan, amount=Decimal("1000.00"), membership=world_a.rep1),
        services.QuotaInput(period=feb, amount=Decimal("-5.00"), membership=world_a.rep1),
    ]
    with pytest.raises(ValidationError) as exc:
        services.quota_bulk_upsert(t, actor=world_a.manager, items=items)
    assert exc.value.message_dict == {"rows[1].amount": ["A quota cannot be negative."]}
    assert Quota.objects.count() == 0
    items[1] = services.QuotaInput(period=feb, amount=Decimal("2000.00"), membership=world_a.rep1)
    quotas = services.quota_bulk_upsert(t, actor=world_a.manager, items=items)
    assert [q.amount for q in quotas] == [Decimal("1000.00"), Decimal("2000.00")]


def test_a_grid_cell_sets_changes_and_clears_a_quota_as_typed(world_a, in_tenant_a):
    t, manager = world_a.tenant, world_a.manager
    q1 = period(t, "quarter", 2027, 1)

    set_ = services.quota_cell_save(
        t, actor=manager, period=q1, text="90000", membership=world_a.rep1
    )
    changed = services.quota_cell_save(
        t, actor=manager, period=q1, text=" 95000.50 ", membership=world_a.rep1
    )
    assert (set_.pk, changed.amount) == (changed.pk, Decimal("95000.50"))
    with pytest.raises(ValidationError) as exc:
        services.quota_cell_save(t, actor=manager, period=q1, text="lots", membership=world_a.rep1)
    assert exc.value.message_dict == {
        "amount": ["'lots' is not a number; enter an amount like 90000.00."]
    }
    assert Quota.objects.get(pk=set_.pk).amount == Decimal("95000.50")

    cleared = services.quota_cell_save(
        t, actor=manager, period=q1, text="", membership=world_a.rep1
    )

    assert cleared is None
    assert not Quota.objects.filter(tenant=t, membership=world_a.rep1).exists()
    assert (
        services.quota_cell_save(t, actor=manager, period=q1, text="", membership=world_a.rep1)
        is None
    )


def test_month_and_quarter_views_agree_on_the_year_and_months_show_the_quarters(
    world_a, in_tenant_a
):
    """Rita joins Feb 10 (50 of Q1's 90 days). Her Q1 quota 90,000.00 counts
    50,000.00; set by month at 30,000.00 for Feb and March it counts Feb 19/28
    and all of March (50,357.14): the months view shows both, and both views total the
    year by the figure attainment uses (the quarter's, 50,000.00). The team's
    quarter quota shows in the months view beside its months."""
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter", 2027, 1)
    QuotaFactory(
        tenant=t, actor=w.manager, period=q1, membership=w.rep2, amount=Decimal("90000.00")
    )
    QuotaFactory(tenant=t, actor=w.manager, period=q1, team=w.team, amount=Decimal("120000.00"))
    for number in (2, 3):
        QuotaFactory(
            tenant=t,
            actor=w.manager,
            period=period(t, "month", 2027, number),
            membership=w.rep2,
            amount=Decimal("30000.00"),
        )
    months = selectors.quota_grid(t, viewer=w.manager, fiscal_year=2027, kind="month")
    quarters = selectors.quota_grid(t, viewer=w.manager, fiscal_year=2027, kind="quarter")
    assert [p.label for p in months.periods[:5]] == [
        "Jan 2027",
        "Feb 2027",
        "Mar 2027",
        "FY2027 Q1",
        "Apr 2027",
    ]
    west_m = next(s for s in months.sections if s.team.name == "West")
    west_q = next(s for s in quarters.sections if s.team.name == "West")
    rita_m = next(r for r in west_m.member_rows if r.label == "Rita Two")
    rita_q = next(r for r in west_q.member_rows if r.label == "Rita Two")
    assert [c.value for c in rita_m.cells[:4]] == [
        Decimal("0"),
        Decimal("20357.14"),
        Decimal("30000.00"),
        Decimal("50000.00"),
    ]
    assert rita_m.total == rita_q.total == Decimal("50000.00")
    assert (
        west_m.team_row.cells[3].amount == west_q.team_row.cells[0].amount == Decimal("120000.00")
    )
    assert west_m.team_row.total == west_q.team_row.total == Decimal("120000.00")
    assert west_m.gap_total == west_q.gap_total == Decimal("70000.00")
    assert months.grand_total == quarters.grand_total == Decimal("50000.00")
