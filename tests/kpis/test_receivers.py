"""The KPI receiver of the domain events: each event marks exactly the periods
it names (the months of its days, with their quarters and years; a quota's
period and the periods containing it; every period for a change of the team
tree), after the commit, in its own tenant only. Then the writers: each
service publishes what the receiver needs, a deal save costs no more queries
than before, a bulk write of 10,000 rows is one event, and a failing
receiver does not break the request."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, transaction

from goals import services as goal_services
from kpis import receivers
from kpis.models import DirtyPeriod
from pipeline import importing
from pipeline import services as pipeline_services
from pipeline.models import Activity, Deal
from spm import events
from spm import services as spm_services
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for
from tests.kpis.factories import open_deal, period
from tests.kpis.test_signals import _clear, _committed, _dirty
from tests.pipeline.factories import stage_named

D = dt.date
pytestmark = pytest.mark.django_db


def _publish(*published: events.Event) -> None:
    with transaction.atomic():
        for event in published:
            events.publish(event)


def _figures(deal_id: int, counts_on: dt.date) -> events.DealFigures:
    return events.DealFigures(
        deal_id=deal_id,
        status="open",
        counts_on=counts_on,
        close_date=None,
        expected_close_date=counts_on,
        stage_id=1,
        owner_id=1,
        base_amount=Decimal("100.00"),
        probability=Decimal("20.00"),
    )


def _every(tenant) -> set[str]:
    return set(FiscalPeriod.objects.filter(tenant=tenant).values_list("label", flat=True))


# One test per event ---------------------------------------------------------------------


def test_deal_created_marks_the_periods_of_the_day_it_counts_by(
    world_a, world_b, in_tenant_a, django_capture_on_commit_callbacks
):
    t = world_a.tenant
    with _committed(django_capture_on_commit_callbacks):
        _publish(events.DealCreated(tenant_id=t.pk, deals=(_figures(7, D(2027, 2, 4)),)))

    assert _dirty(t) == {"Feb 2027", "FY2027 Q1", "FY2027"}
    assert _dirty(world_b.tenant) == set()


def test_deal_changed_marks_the_old_and_the_new_day(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    t = world_a.tenant
    change = events.DealChange(
        old=_figures(7, D(2027, 5, 20)), new=_figures(7, D(2027, 7, 15)), splits_changed=False
    )
    with _committed(django_capture_on_commit_callbacks):
        _publish(events.DealChanged(tenant_id=t.pk, deals=(change,)))

    assert _dirty(t) == {"May 2027", "Jul 2027", "FY2027 Q2", "FY2027 Q3", "FY2027"}


def test_deal_deleted_marks_its_day_and_its_stage_entry_days(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    t = world_a.tenant
    deleted = events.DealDeleted(
        tenant_id=t.pk,
        deals=(_figures(7, D(2027, 3, 20)),),
        stage_entry_days=(D(2026, 12, 30), D(2027, 2, 10)),
    )
    with _committed(django_capture_on_commit_callbacks):
        _publish(deleted)

    assert _dirty(t) == {
        "Dec 2026",
        "FY2026 Q4",
        "FY2026",
        "Feb 2027",
        "Mar 2027",
        "FY2027 Q1",
        "FY2027",
    }


def test_a_new_deals_stage_entry_marks_its_day_and_reads_no_history(
    world_a, in_tenant_a, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """First stage entries (no stage before): the day only, and no read of the
    stage history: the writer's savepoint and its release, then after the
    commit the tenant, the receiver's savepoint, the tenant setting, the
    marking, the setting restored and the release."""
    t = world_a.tenant
    entries = (
        events.StageEntry(deal_id=7, from_stage_id=None, to_stage_id=1, day=D(2027, 4, 2)),
        events.StageEntry(deal_id=8, from_stage_id=None, to_stage_id=1, day=D(2027, 4, 2)),
    )
    with django_assert_num_queries(8), _committed(django_capture_on_commit_callbacks):
        _publish(events.StageEntered(tenant_id=t.pk, entries=entries))

    assert _dirty(t) == {"Apr 2027", "FY2027 Q2", "FY2027"}


def test_a_moved_deals_stage_entry_marks_its_earlier_entry_days_too(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """A deal that entered Qualification on Jan 12 enters Needs analysis on
    Mar 31: January's entry now reached the next stage (read from the history
    after the commit)."""
    w = world_a
    with time_machine.travel(dt.datetime(2027, 1, 12, 12, tzinfo=dt.UTC), tick=False):
        deal = open_deal(w.tenant, w.rep1, "1000.00", D(2027, 1, 12), D(2027, 6, 1))
    entry = events.StageEntry(
        deal_id=deal.pk, from_stage_id=deal.stage_id, to_stage_id=deal.stage_id, day=D(2027, 3, 31)
    )
    with _committed(django_capture_on_commit_callbacks):
        _publish(events.StageEntered(tenant_id=w.tenant.pk, entries=(entry,)))

    assert _dirty(w.tenant) == {"Jan 2027", "Mar 2027", "FY2027 Q1", "FY2027"}


def test_activity_written_marks_its_old_and_new_day(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    t = world_a.tenant
    rows = (
        events.ActivityRow(
            activity_id=1, old_occurred_on=D(2027, 1, 5), new_occurred_on=D(2027, 6, 1)
        ),
        events.ActivityRow(activity_id=2, old_occurred_on=None, new_occurred_on=D(2027, 6, 2)),
    )
    with _committed(django_capture_on_commit_callbacks):
        _publish(events.ActivityWritten(tenant_id=t.pk, activities=rows))

    assert _dirty(t) == {"Jan 2027", "Jun 2027", "FY2027 Q1", "FY2027 Q2", "FY2027"}


def test_lead_written_marks_its_awareness_days(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    t = world_a.tenant
    rows = (events.LeadRow(lead_id=1, old_awareness_on=D(2027, 8, 3), new_awareness_on=None),)
    with _committed(django_capture_on_commit_callbacks):
        _publish(events.LeadWritten(tenant_id=t.pk, leads=rows))

    assert _dirty(t) == {"Aug 2027", "FY2027 Q3", "FY2027"}


def test_account_written_marks_its_customer_and_churn_days(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """Customer since Oct 1 2026 (unchanged), churned on Apr 30 2027 (new)."""
    t = world_a.tenant
    row = events.AccountRow(
        account_id=1,
        old_customer_since=D(2026, 10, 1),
        new_customer_since=D(2026, 10, 1),
        old_churned_on=None,
        new_churned_on=D(2027, 4, 30),
    )
    with _committed(django_capture_on_commit_callbacks):
        _publish(events.AccountWritten(tenant_id=t.pk, accounts=(row,)))

    assert _dirty(t) == {"Oct 2026", "FY2026 Q4", "FY2026", "Apr 2027", "FY2027 Q2", "FY2027"}


def test_quota_set_marks_its_period_and_those_containing_it(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """A February quota: February, Q1, FY2027 (no other month)."""
    t = world_a.tenant
    february = period(t, "month", 2027, 2)
    ref = events.QuotaRef(
        period_id=february.pk, membership_id=world_a.rep1.pk, team_id=None, measure="bookings"
    )
    with _committed(django_capture_on_commit_callbacks):
        _publish(events.QuotaSet(tenant_id=t.pk, quotas=(ref,)))

    assert _dirty(t) == {"Feb 2027", "FY2027 Q1", "FY2027"}


def test_quota_deleted_marks_its_period_and_those_containing_it(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    t = world_a.tenant
    ref = events.QuotaRef(
        period_id=period(t, "year", 2027).pk,
        membership_id=None,
        team_id=world_a.team.pk,
        measure="bookings",
    )
    with _committed(django_capture_on_commit_callbacks):
        _publish(events.QuotaDeleted(tenant_id=t.pk, quotas=(ref,)))

    assert _dirty(t) == {"FY2027"}


def _membership(tenant_id: int, **changed) -> events.MembershipChanged:
    values = {
        "membership_id": 3,
        "old_team_id": 1,
        "new_team_id": 1,
        "old_role": "rep",
        "new_role": "rep",
        "old_start_date": D(2026, 1, 1),
        "new_start_date": D(2026, 1, 1),
        "old_end_date": None,
        "new_end_date": None,
    }
    return events.MembershipChanged(tenant_id=tenant_id, **{**values, **changed})


def test_membership_dates_changed_marks_the_old_and_new_dates(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """Start moved from Jan 1 2026 to Feb 1 2027, end set to Nov 30 2027."""
    t = world_a.tenant
    changed = _membership(t.pk, new_start_date=D(2027, 2, 1), new_end_date=D(2027, 11, 30))
    with _committed(django_capture_on_commit_callbacks):
        _publish(changed)

    assert _dirty(t) == {
        "Jan 2026",
        "FY2026 Q1",
        "FY2026",
        "Feb 2027",
        "Nov 2027",
        "FY2027 Q1",
        "FY2027 Q4",
        "FY2027",
    }


@pytest.mark.parametrize("changed", [{"new_team_id": 2}, {"new_role": "manager"}])
def test_membership_team_or_role_changed_marks_every_period(
    world_a, in_tenant_a, django_capture_on_commit_callbacks, changed
):
    t = world_a.tenant
    with _committed(django_capture_on_commit_callbacks):
        _publish(_membership(t.pk, **changed))

    assert _dirty(t) == _every(t)


def test_team_moved_marks_every_period(world_a, in_tenant_a, django_capture_on_commit_callbacks):
    t = world_a.tenant
    moved = events.TeamMoved(tenant_id=t.pk, team_id=2, old_parent_id=1, new_parent_id=None)
    with _committed(django_capture_on_commit_callbacks):
        _publish(moved)

    assert _dirty(t) == _every(t)


def test_period_closed_marks_nothing(world_a, in_tenant_a, django_capture_on_commit_callbacks):
    """Closing freezes a period; the KPI receiver does not subscribe."""
    t = world_a.tenant
    with _committed(django_capture_on_commit_callbacks) as callbacks:
        _publish(events.PeriodClosed(tenant_id=t.pk, period_id=period(t, "month", 2027, 1).pk))

    assert len(callbacks) == 1
    assert _dirty(t) == set()


def test_one_transactions_events_of_two_tenants_mark_each_its_own(
    world_a, world_b, in_tenant_a, django_capture_on_commit_callbacks
):
    a, b = world_a.tenant, world_b.tenant
    with _committed(django_capture_on_commit_callbacks):
        _publish(
            events.DealCreated(tenant_id=a.pk, deals=(_figures(7, D(2027, 2, 4)),)),
            events.DealCreated(tenant_id=b.pk, deals=(_figures(8, D(2027, 9, 9)),)),
        )

    assert _dirty(a) == {"Feb 2027", "FY2027 Q1", "FY2027"}
    assert _dirty(b) == {"Sep 2027", "FY2027 Q3", "FY2027"}


# The writers ----------------------------------------------------------------------------


@pytest.fixture
def published(monkeypatch) -> list[events.Event]:
    """Every event published, recorded beside the KPI receiver."""
    recorded: list[events.Event] = []
    monkeypatch.setattr(events, "_subscriptions", list(events._subscriptions))
    events.subscribe(events.Event)(recorded.extend)
    return recorded


def test_activities_mark_their_old_and_new_months_and_go_with_their_deal(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """A call on Jan 5 moved to Jun 1 marks January and June; deleting its
    deal (expected Mar 20, entered its stage on Feb 15) marks June again
    (the call goes with it), March and February."""
    w = world_a
    with time_machine.travel(dt.datetime(2027, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        deal = open_deal(w.tenant, w.rep1, "1000.00", D(2027, 2, 1), D(2027, 3, 20))
        call = pipeline_services.activity_create(
            w.tenant,
            actor=w.rep1,
            kind="call",
            subject="Intro",
            occurred_on=D(2027, 1, 5),
            deal=deal,
        )
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.activity_update(
            w.tenant, activity=call, actor=w.rep1, occurred_on=D(2027, 6, 1)
        )
    assert _dirty(w.tenant) == {"Jan 2027", "Jun 2027", "FY2027 Q1", "FY2027 Q2", "FY2027"}
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.deal_delete(w.tenant, deal=deal, actor=None)
    assert _dirty(w.tenant) == {
        "Feb 2027",
        "Mar 2027",
        "Jun 2027",
        "FY2027 Q1",
        "FY2027 Q2",
        "FY2027",
    }
    assert Activity.objects.filter(tenant=w.tenant).count() == 0


def test_a_new_probability_marks_the_open_deals_month(
    world_a, in_tenant_a, published, django_capture_on_commit_callbacks
):
    """The weighted pipeline moves with the probability: a deal expected Jun
    10 marks June, Q2 and the year; a new name alone publishes a change too
    (any field may feed a KPI), with the same figures before and after."""
    w = world_a
    deal = open_deal(w.tenant, w.rep1, "1000.00", D(2027, 2, 1), D(2027, 6, 10))
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.deal_update(w.tenant, deal=deal, actor=None, probability=Decimal("75.00"))
    assert _dirty(w.tenant) == {"Jun 2027", "FY2027 Q2", "FY2027"}
    (changed,) = published
    (change,) = changed.deals
    assert (change.old.probability, change.new.probability) == (
        deal.probability,
        Decimal("75.00"),
    )
    published.clear()

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.deal_update(w.tenant, deal=deal, actor=None, name="Renamed")
    (renamed,) = published
    assert renamed.deals[0].old == renamed.deals[0].new


def test_leads_and_accounts_mark_the_days_they_count_by(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    w = world_a
    with _committed(django_capture_on_commit_callbacks):
        lead = pipeline_services.lead_create(
            w.tenant, actor=w.admin, name="Lena", awareness_on=D(2027, 5, 3)
        )
    assert _dirty(w.tenant) == {"May 2027", "FY2027 Q2", "FY2027"}
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.lead_delete(w.tenant, lead=lead, actor=w.admin)
    assert _dirty(w.tenant) == {"May 2027", "FY2027 Q2", "FY2027"}
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        account = pipeline_services.account_create(
            w.tenant, actor=w.admin, name="Acme", customer_since=D(2026, 11, 1)
        )
    assert _dirty(w.tenant) == {"Nov 2026", "FY2026 Q4", "FY2026"}
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.account_update(
            w.tenant, account=account, actor=w.admin, churned_on=D(2027, 8, 31)
        )
    assert _dirty(w.tenant) == {
        "Nov 2026",
        "FY2026 Q4",
        "FY2026",
        "Aug 2027",
        "FY2027 Q3",
        "FY2027",
    }


def test_the_quota_writers_publish_the_quotas_they_changed(
    world_a, in_tenant_a, published, django_capture_on_commit_callbacks
):
    """quota_set of a new quota and quota_delete: one event each naming the
    quota; setting the same amount again publishes nothing."""
    w = world_a
    q3 = period(w.tenant, "quarter", 2027, 3)
    with django_capture_on_commit_callbacks(execute=True):
        quota = goal_services.quota_set(
            w.tenant, actor=w.admin, period=q3, membership=w.rep1, amount=Decimal("5000.00")
        )
        goal_services.quota_set(
            w.tenant, actor=w.admin, period=q3, membership=w.rep1, amount=Decimal("5000.00")
        )
        goal_services.quota_delete(w.tenant, actor=w.admin, quota=quota)

    ref = events.QuotaRef(
        period_id=q3.pk, membership_id=w.rep1.pk, team_id=None, measure="bookings"
    )
    assert published == [
        events.QuotaSet(tenant_id=w.tenant.pk, quotas=(ref,)),
        events.QuotaDeleted(tenant_id=w.tenant.pk, quotas=(ref,)),
    ]


def test_the_core_publishes_team_moves_member_changes_and_period_closes(
    world_a, in_tenant_a, published, django_capture_on_commit_callbacks
):
    """A rename and a new title publish nothing."""
    w = world_a
    january = period(w.tenant, "month", 2027, 1)
    with django_capture_on_commit_callbacks(execute=True):
        spm_services.team_update(w.tenant, team=w.other_team, actor=None, name="East Coast")
        spm_services.team_update(w.tenant, team=w.other_team, actor=None, parent=w.team)
        spm_services.membership_update(w.tenant, membership=w.rep2, actor=None, title="Senior")
        spm_services.membership_update(w.tenant, membership=w.rep2, actor=None, team=w.root_team)
        spm_services.period_close(w.tenant, period=january, actor=w.admin.user)

    t = w.tenant.pk
    assert published == [
        events.TeamMoved(
            tenant_id=t,
            team_id=w.other_team.pk,
            old_parent_id=w.other_team.parent_id,
            new_parent_id=w.team.pk,
        ),
        events.MembershipChanged(
            tenant_id=t,
            membership_id=w.rep2.pk,
            old_team_id=w.team.pk,
            new_team_id=w.root_team.pk,
            old_role="rep",
            new_role="rep",
            old_start_date=w.rep2.start_date,
            new_start_date=w.rep2.start_date,
            old_end_date=None,
            new_end_date=None,
        ),
        events.PeriodClosed(tenant_id=t, period_id=january.pk),
    ]


def test_a_ten_thousand_row_import_publishes_one_event_per_kind(
    world_a, in_tenant_a, published, django_capture_on_commit_callbacks
):
    """10,000 new leads: one LeadWritten with every row, delivered in one
    callback; their months (Jan to Dec 2027 by awareness day) are marked."""
    lines = ["Lead ID,Name,Company,Awareness date"]
    for i in range(10_000):
        lines.append(f"L-{i:05d},Lead {i},Company {i % 50},2027-{1 + i % 12:02d}-10")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result, errors, _ = importing.import_file(
            world_a.tenant, kind="leads", content="\n".join(lines) + "\n", actor=world_a.admin
        )

    assert (errors, result.created) == ([], 10_000)
    assert len(callbacks) == 1
    assert [type(event).__name__ for event in published] == ["LeadWritten"]
    (written,) = published
    assert len(written.leads) == 10_000
    assert {row.old_awareness_on for row in written.leads} == {None}
    months = {f"{dt.date(2027, m, 1):%b} 2027" for m in range(1, 13)}
    assert _dirty(world_a.tenant) == months | {f"FY2027 Q{q}" for q in range(1, 5)} | {"FY2027"}


def test_a_bulk_deal_upsert_publishes_one_event_per_kind_of_change(
    world_a, published, django_capture_on_commit_callbacks
):
    """Two new deals and, re-synced, one moved: DealCreated with both,
    StageEntered with both first entries; then DealChanged and StageEntered
    with the moved one."""
    w = world_a
    client = api_client_for(w.admin.user)
    url = f"/api/v1/{w.tenant.slug}/deals/bulk/"
    item = {
        "name": "One",
        "owner": "rep1@alpha.test",
        "amount": "100.00",
        "stage": "Qualification",
        "expected_close_date": "2027-05-15",
    }
    items = [{**item, "external_id": "SF-1"}, {**item, "external_id": "SF-2"}]
    moved = {**items[0], "stage": "Needs analysis"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"items": items}, format="json").status_code == 200
        assert client.post(url, {"items": [moved]}, format="json").status_code == 200

    assert [type(event).__name__ for event in published] == [
        "DealCreated",
        "StageEntered",
        "DealChanged",
        "StageEntered",
    ]
    created, first, changed, entered = published
    assert len(created.deals) == len(first.entries) == 2
    assert [e.from_stage_id for e in first.entries] == [None, None]
    (change,) = changed.deals
    (entry,) = entered.entries
    with tenant_context(w.tenant):
        deal = Deal.objects.get(tenant=w.tenant, external_id="SF-1")
    assert (change.old.deal_id, change.new.stage_id, change.splits_changed) == (
        deal.pk,
        deal.stage_id,
        False,
    )
    assert (entry.deal_id, entry.from_stage_id, entry.to_stage_id) == (
        deal.pk,
        change.old.stage_id,
        deal.stage_id,
    )


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_does_not_break_the_request(world_a, monkeypatch, caplog):
    """After the commit the KPI receiver fails (the dirty queue raises a
    database error): the API still answers 201, the deal is saved, nothing is
    marked, and the failure is logged with its traceback."""

    def unavailable(*args, **kwargs):
        raise DatabaseError("the dirty-period queue is unavailable")

    monkeypatch.setattr(receivers, "periods_mark_dirty", unavailable)
    with tenant_context(world_a.tenant):
        stage = stage_named(world_a.tenant, "Qualification")
    body = {"name": "Big one", "amount": "12000.00", "stage": stage.pk}

    with caplog.at_level(logging.ERROR, logger="spm.events"):
        response = api_client_for(world_a.admin.user).post(
            f"/api/v1/{world_a.tenant.slug}/deals/",
            {**body, "expected_close_date": "2027-03-31"},
            format="json",
        )

    assert response.status_code == 201
    with tenant_context(world_a.tenant):
        assert list(Deal.objects.values_list("name", flat=True)) == ["Big one"]
        assert DirtyPeriod.objects.count() == 0
    (record,) = [r for r in caplog.records if r.name == "spm.events"]
    assert record.getMessage() == (
        "Receiver kpis.receivers.periods_changed failed on DealCreated, StageEntered "
        "(2 in all); the write stands."
    )
    assert str(record.exc_info[1]) == "the dirty-period queue is unavailable"


def test_a_deal_write_costs_no_more_queries_than_before_events(
    world_a, in_tenant_a, django_assert_num_queries
):
    """In the writer's transaction: create 8 (7, and the first entry of the
    deal's forecast category history), amount change 7, stage move 7
    (8 before: the read of the deal's earlier stage entries now runs in the
    receiver, after the commit), delete with an activity 16 (11, and the
    cascade into the forecast's category history, snapshots and odds and into
    coaching's agenda items and action items) (its stage-entry
    days and its activities are read for the event; the cascade no longer
    loads the activities for model signals)."""
    w = world_a
    qualification = stage_named(w.tenant, "Qualification")
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, tzinfo=dt.UTC), tick=False):
        with django_assert_num_queries(8):
            deal = pipeline_services.deal_create(
                w.tenant,
                actor=None,
                name="Counted",
                owner=w.rep1,
                amount=Decimal("40000.00"),
                stage=qualification,
                expected_close_date=D(2027, 3, 20),
            )
        with django_assert_num_queries(7):
            pipeline_services.deal_update(
                w.tenant, deal=deal, actor=None, amount=Decimal("41000.00")
            )
        with django_assert_num_queries(7):
            pipeline_services.deal_move(
                w.tenant, deal=deal, stage=stage_named(w.tenant, "Needs analysis"), actor=None
            )
        pipeline_services.activity_create(
            w.tenant,
            actor=w.rep1,
            kind="call",
            subject="Intro",
            occurred_on=D(2027, 3, 1),
            deal=deal,
        )
        with django_assert_num_queries(16):
            pipeline_services.deal_delete(w.tenant, deal=deal, actor=None)


def test_an_allocation_publishes_one_quota_event_with_all_its_quotas(
    world_a, in_tenant_a, published, django_capture_on_commit_callbacks
):
    """Allocating 1,000,000 to the company team for FY2027 equally: the team's
    quota and East's and West's in one QuotaSet; only FY2027 is marked."""
    t = world_a.tenant
    year = period(t, "year", 2027)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        goal_services.quota_allocate(
            t,
            actor=world_a.admin,
            team=world_a.root_team,
            period=year,
            amount=Decimal("1000000"),
            method="equal",
            unit=Decimal("1"),
        )

    assert len(callbacks) == 1
    (event,) = published
    assert isinstance(event, events.QuotaSet)
    assert sorted(q.team_id for q in event.quotas) == sorted(
        [world_a.root_team.pk, world_a.other_team.pk, world_a.team.pk]
    )
    assert {(q.period_id, q.membership_id, q.measure) for q in event.quotas} == {
        (year.pk, None, "bookings")
    }
    assert _dirty(t) == {"FY2027"}
