"""The on-change path outside the browser: the events published by the
pipeline, goals and core services and the bulk API mark the touched (tenant,
period) dirty after commit, nothing on a rollback; the runs page starts a
recompute for admins only; KPI-metric goals get their progress from the
engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from goals import services as goal_services
from goals.models import Goal
from kpis import services
from kpis.models import DirtyPeriod
from pipeline import services as pipeline_services
from pipeline.models import Deal
from spm import services as spm_services
from spm.models import FiscalPeriod, TaskRun
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, client_for
from tests.goals.factories import GoalFactory
from tests.kpis.factories import lost_deal, open_deal, period, recompute, won_deal
from tests.pipeline.factories import stage_named

D = dt.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _end_of_q1():
    # Mar 31 2027: "today" is in March, Q1 and FY2027.
    with time_machine.travel(dt.datetime(2027, 3, 31, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


@contextmanager
def _committed(capture) -> Iterator[list]:
    """Run the block's on-commit callbacks as its commit would. The test's own
    transaction never commits, so they are also dropped from the connection's
    list afterwards: the next block then starts a new collector, as the next
    transaction would."""
    conn = transaction.get_connection()
    start = len(conn.run_on_commit)
    with capture(execute=True) as callbacks:
        yield callbacks
    del conn.run_on_commit[start:]


def _rolled_back(write) -> None:
    with transaction.atomic():
        write()
        raise RuntimeError("boom")


def _dirty(tenant) -> set[str]:
    with tenant_context(tenant):
        return set(
            DirtyPeriod.objects.filter(tenant=tenant).values_list("period__label", flat=True)
        )


def _clear(tenant) -> None:
    with tenant_context(tenant):
        DirtyPeriod.objects.filter(tenant=tenant).delete()


def test_saving_a_deal_marks_its_periods_and_todays_after_commit(
    world_a, world_b, in_tenant_a, django_capture_on_commit_callbacks
):
    """Won Feb 4: February, Q1 and FY2027; today (Mar 31, open pipeline is as
    of today): March. Nothing before the commit, nothing in the other tenant."""
    w = world_a
    with _committed(django_capture_on_commit_callbacks) as callbacks:
        won_deal(w.tenant, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
        assert _dirty(w.tenant) == set()

    assert len(callbacks) == 1  # one collector per transaction, however many rows
    assert _dirty(w.tenant) == {"Feb 2027", "Mar 2027", "FY2027 Q1", "FY2027"}
    assert _dirty(world_b.tenant) == set()


def test_moving_a_deal_marks_the_old_and_the_new_periods(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """Expected May 20 (Q2) moved to Jul 15 (Q3): both quarters, both months.
    Not today's month (March): the deal did not change stage, nothing of March
    moved."""
    w = world_a
    with _committed(django_capture_on_commit_callbacks):
        deal = open_deal(w.tenant, w.rep1, "40000.00", D(2027, 3, 1), D(2027, 5, 20))
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.deal_update(
            w.tenant, deal=deal, actor=w.admin, expected_close_date=D(2027, 7, 15)
        )

    assert _dirty(w.tenant) == {"May 2027", "Jul 2027", "FY2027 Q2", "FY2027 Q3", "FY2027"}


def test_a_rolled_back_deal_marks_nothing(world_a, in_tenant_a, django_capture_on_commit_callbacks):
    w = world_a
    with _committed(django_capture_on_commit_callbacks) as callbacks, pytest.raises(RuntimeError):
        _rolled_back(lambda: won_deal(w.tenant, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4)))

    assert callbacks == []
    assert _dirty(w.tenant) == set()
    assert Deal.objects.filter(tenant=w.tenant).count() == 0


def test_bulk_upsert_through_the_api_marks_the_deals_periods(
    world_a, world_b, django_capture_on_commit_callbacks
):
    """The bulk path writes rows without a save() per deal and publishes one
    event per kind of change: one open deal expected May 15 (May, Q2) and one won
    Feb 10 (February, Q1), and the year; and today's month (Mar 31), where the
    batch's stage history lands."""
    w = world_a
    items = [
        {
            "external_id": "SF-1",
            "name": "One",
            "owner": "rep1@alpha.test",
            "amount": "100.00",
            "stage": "Qualification",
            "expected_close_date": "2027-05-15",
        },
        {
            "external_id": "SF-2",
            "name": "Two",
            "owner": "rep2@alpha.test",
            "amount": "200.00",
            "stage": "Closed won",
            "expected_close_date": "2027-02-10",
            "close_date": "2027-02-10",
        },
    ]

    with _committed(django_capture_on_commit_callbacks):
        response = api_client_for(w.admin.user).post(
            f"/api/v1/{w.tenant.slug}/deals/bulk/", {"items": items}, format="json"
        )

    assert response.status_code == 200
    assert response.json()["created"] == 2
    assert _dirty(w.tenant) == {
        "Feb 2027",
        "Mar 2027",
        "May 2027",
        "FY2027 Q1",
        "FY2027 Q2",
        "FY2027",
    }
    assert _dirty(world_b.tenant) == set()


def test_a_bulk_upsert_that_moves_a_deal_marks_its_old_period_too(
    world_a, django_capture_on_commit_callbacks
):
    """A synced deal expected May 15 is re-synced expected Aug 20 and moved to
    Needs analysis: May (the period it left), August, their quarters, the
    year, today's month, and the months of its earlier stage entries (today's:
    March) are marked."""
    w = world_a
    item = {
        "external_id": "SF-9",
        "name": "Nine",
        "owner": "rep1@alpha.test",
        "amount": "100.00",
        "stage": "Qualification",
        "expected_close_date": "2027-05-15",
    }
    client = api_client_for(w.admin.user)
    url = f"/api/v1/{w.tenant.slug}/deals/bulk/"
    with _committed(django_capture_on_commit_callbacks):
        assert client.post(url, {"items": [item]}, format="json").status_code == 200
    _clear(w.tenant)

    moved = {**item, "expected_close_date": "2027-08-20", "stage": "Needs analysis"}
    with _committed(django_capture_on_commit_callbacks):
        response = client.post(url, {"items": [moved]}, format="json")

    assert response.json()["updated"] == 1
    assert _dirty(w.tenant) == {
        "Mar 2027",
        "May 2027",
        "Aug 2027",
        "FY2027 Q1",
        "FY2027 Q2",
        "FY2027 Q3",
        "FY2027",
    }


def test_a_refused_bulk_upsert_marks_nothing(world_a, django_capture_on_commit_callbacks):
    w = world_a
    items = [
        {
            "external_id": "SF-1",
            "name": "One",
            "owner": "rep1@alpha.test",
            "amount": "-5",
            "stage": "Qualification",
            "expected_close_date": "2027-05-15",
        }
    ]

    with _committed(django_capture_on_commit_callbacks):
        response = api_client_for(w.admin.user).post(
            f"/api/v1/{w.tenant.slug}/deals/bulk/", {"items": items}, format="json"
        )

    assert response.status_code == 400
    assert _dirty(w.tenant) == set()


def test_a_quota_change_marks_its_period_and_the_year(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    w = world_a
    q2 = period(w.tenant, "quarter", 2027, 2)

    with _committed(django_capture_on_commit_callbacks):
        goal_services.quota_set(
            w.tenant, actor=w.admin, period=q2, membership=w.rep1, amount=Decimal("90000.00")
        )

    # The event names the quarter: Q2 and the year containing it, no month (a
    # quarter's quota is in no month's figures; April was marked only while
    # the audit row was traced back by its period's start date).
    assert _dirty(w.tenant) == {"FY2027 Q2", "FY2027"}


def test_a_rolled_back_quota_change_marks_nothing(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    w = world_a
    q2 = period(w.tenant, "quarter", 2027, 2)

    with _committed(django_capture_on_commit_callbacks), pytest.raises(RuntimeError):
        _rolled_back(
            lambda: goal_services.quota_set(
                w.tenant, actor=w.admin, period=q2, membership=w.rep1, amount=Decimal("1.00")
            )
        )

    assert _dirty(w.tenant) == set()


# The runs page -----------------------------------------------------------------------


def test_admin_starts_a_recompute_on_the_runs_page(world_a, django_capture_on_commit_callbacks):
    w = world_a
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(w.admin.user).post(f"/{w.tenant.slug}/kpis/runs/")

    assert response.status_code == 302
    assert response.url == f"/{w.tenant.slug}/kpis/runs/"
    with tenant_context(w.tenant):
        runs = list(
            TaskRun.objects.filter(tenant=w.tenant).values_list(
                "kind", "status", "label", "created_by"
            )
        )
    assert runs == [("kpis.recompute", "queued", "Recompute all KPIs", w.admin.pk)]
    assert len(callbacks) == 1  # the task is sent after commit


@pytest.mark.parametrize(("role", "status"), [("rep1", 403), ("manager", 403), ("finance", 403)])
def test_others_cannot_start_a_recompute(world_a, role, status):
    w = world_a
    response = client_for(getattr(w, role).user).post(f"/{w.tenant.slug}/kpis/runs/")

    assert response.status_code == status
    with tenant_context(w.tenant):
        assert TaskRun.objects.filter(tenant=w.tenant).count() == 0


def test_another_tenants_admin_cannot_start_a_recompute(world_a, world_b):
    response = client_for(world_b.admin.user).post(f"/{world_a.tenant.slug}/kpis/runs/")

    assert response.status_code == 404
    with tenant_context(world_a.tenant):
        assert TaskRun.objects.filter(tenant=world_a.tenant).count() == 0


# Goals measured by a KPI -------------------------------------------------------------


def test_goal_progress_from_a_kpi_metric_is_written_by_the_engine(world_a, in_tenant_a):
    """rep1, Q1 2027, quota 90,000: bookings 50,000, attainment 55.56 %, win
    rate 2/3. A bookings goal over Q1 gets 50,000.0000; an attainment goal
    55.5556 (percent, four places); West's bookings goal 50,000.0000; a
    company win-rate goal over the year 66.6667; a manual goal is left alone."""
    t, w = world_a.tenant, world_a
    q1 = period(t, "quarter")
    goal_services.quota_set(t, actor=w.admin, period=q1, membership=w.rep1, amount=Decimal("90000"))
    won_deal(t, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    won_deal(t, w.rep1, "30000.00", D(2027, 1, 10), D(2027, 3, 1))
    lost_deal(t, w.rep1, "25000.00", D(2027, 2, 1), D(2027, 3, 15))
    company = GoalFactory(tenant=t, actor=w.admin, metric="win_rate", target_value=Decimal("60"))
    quarter = {"start_date": D(2027, 1, 1), "due_date": D(2027, 3, 31)}
    team = GoalFactory(
        tenant=t,
        actor=w.admin,
        level="team",
        owner_team=w.team,
        parent=company,
        metric="bookings",
        target_value=Decimal("150000"),
        **quarter,
    )
    member = {"level": "member", "owner_membership": w.rep1, "parent": team, **quarter}
    bookings = GoalFactory(
        tenant=t, actor=w.admin, metric="bookings", target_value=Decimal("90000"), **member
    )
    attainment = GoalFactory(
        tenant=t, actor=w.admin, metric="attainment", target_value=Decimal("100"), **member
    )
    manual = GoalFactory(
        tenant=t, actor=w.admin, metric="manual", target_value=Decimal("10"), unit="calls", **member
    )
    year = period(t, "year")

    recompute(t, q1, year)

    progress = dict(Goal.objects.filter(tenant=t).values_list("pk", "progress_value"))
    assert progress[bookings.pk] == Decimal("50000.0000")
    assert progress[attainment.pk] == Decimal("55.5556")
    assert progress[company.pk] == Decimal("66.6667")
    assert progress[team.pk] == Decimal("50000.0000")
    assert progress[manual.pk] == manual.progress_value
    assert services.goals_progress_update(t, period_ids=[q1.pk]) == 3


def test_moving_a_deal_marks_the_months_of_its_earlier_stage_entries(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """A deal that entered Qualification in January reaches Needs analysis on
    Mar 31: January's stage conversion changes, so January (and its periods)
    is marked too, not only today's month."""
    w = world_a
    january = time_machine.travel(dt.datetime(2027, 1, 12, 12, tzinfo=dt.UTC), tick=False)
    with january, _committed(django_capture_on_commit_callbacks):
        deal = open_deal(
            w.tenant, w.rep1, "40000.00", D(2027, 1, 12), D(2027, 3, 20), stage="Qualification"
        )
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.deal_move(
            w.tenant, deal=deal, stage=stage_named(w.tenant, "Needs analysis"), actor=None
        )

    assert _dirty(w.tenant) == {"Jan 2027", "Mar 2027", "FY2027 Q1", "FY2027"}


def test_a_team_move_or_a_team_change_marks_every_period(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """Roll-ups follow the team tree: moving East under West, or moving a rep
    to another team, queues every period of the tenant (all roll-ups may have
    changed); renaming a team queues nothing."""
    w = world_a
    every = set(FiscalPeriod.objects.filter(tenant=w.tenant).values_list("label", flat=True))

    with _committed(django_capture_on_commit_callbacks):
        spm_services.team_update(w.tenant, team=w.other_team, actor=None, name="East Coast")
    assert _dirty(w.tenant) == set()

    with _committed(django_capture_on_commit_callbacks):
        spm_services.team_update(w.tenant, team=w.other_team, actor=None, parent=w.team)
    assert _dirty(w.tenant) == every
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        spm_services.membership_update(w.tenant, membership=w.rep2, actor=None, team=w.root_team)
    assert _dirty(w.tenant) == every


def test_a_changed_end_date_marks_the_old_and_new_periods(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """rep2 leaves on May 20 (no end date before): May, Q2 and the year."""
    w = world_a
    with _committed(django_capture_on_commit_callbacks):
        spm_services.membership_update(
            w.tenant, membership=w.rep2, actor=None, end_date=D(2027, 5, 20)
        )
    assert _dirty(w.tenant) == {"May 2027", "FY2027 Q2", "FY2027"}


def test_a_closed_deal_marks_its_close_month_only(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """A deal won Feb 4: its expected close date (moved to Jan 20) counts for
    nothing once it is closed, and a new amount moves February's figures only
    (not January's, not today's March)."""
    w = world_a
    with _committed(django_capture_on_commit_callbacks):
        deal = won_deal(w.tenant, w.rep1, "20000.00", D(2027, 1, 5), D(2027, 2, 4))
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.deal_update(
            w.tenant, deal=deal, actor=None, expected_close_date=D(2027, 1, 20)
        )
    assert _dirty(w.tenant) == {"Feb 2027", "FY2027 Q1", "FY2027"}
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.deal_update(w.tenant, deal=deal, actor=None, amount=Decimal("21000.00"))
    assert _dirty(w.tenant) == {"Feb 2027", "FY2027 Q1", "FY2027"}


def test_deleting_a_deal_marks_the_months_it_entered_stages(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    """Qualification on Jan 12, Needs analysis on Feb 10, expected Mar 20:
    deleting it changes January's and February's stage entries and March's
    open pipeline."""
    w = world_a
    january = time_machine.travel(dt.datetime(2027, 1, 12, 12, tzinfo=dt.UTC), tick=False)
    with january, _committed(django_capture_on_commit_callbacks):
        deal = open_deal(
            w.tenant, w.rep1, "40000.00", D(2027, 1, 12), D(2027, 3, 20), stage="Qualification"
        )
    february = time_machine.travel(dt.datetime(2027, 2, 10, 12, tzinfo=dt.UTC), tick=False)
    with february, _committed(django_capture_on_commit_callbacks):
        pipeline_services.deal_move(
            w.tenant, deal=deal, stage=stage_named(w.tenant, "Needs analysis"), actor=None
        )
    _clear(w.tenant)

    with _committed(django_capture_on_commit_callbacks):
        pipeline_services.deal_delete(w.tenant, deal=deal, actor=None)

    assert _dirty(w.tenant) == {"Jan 2027", "Feb 2027", "Mar 2027", "FY2027 Q1", "FY2027"}


def test_a_queryset_delete_of_deals_reads_no_stage_history_per_deal(world_a, in_tenant_a):
    """Only a deal deleted on its own reads its stage-entry days first; a bulk
    or cascaded delete does not run that query per deal (the nightly run
    covers stage conversion there)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = world_a
    for n in range(3):
        open_deal(w.tenant, w.rep1, "1000.00", D(2027, 1, 5 + n), D(2027, 3, 20))
    with CaptureQueriesContext(connection) as queries:
        Deal.objects.filter(tenant=w.tenant).delete()
    assert Deal.objects.filter(tenant=w.tenant).count() == 0
    assert not [q for q in queries.captured_queries if "AT TIME ZONE tn.time_zone" in q["sql"]]
