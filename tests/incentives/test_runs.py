"""Credits, plans, assignments and calculation runs against the database."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from goals.models import Measure, Quota
from incentives import services
from incentives.engine import compute_period
from incentives.models import (
    Assignment,
    CalcRun,
    Credit,
    Plan,
    PlanVersion,
    Statement,
    StatementLine,
    VersionStatus,
)
from incentives.services import runs as runs_module
from pipeline import services as pipeline_services
from spm.models import FiscalPeriod
from spm.tenancy.context import tenant_context
from tests.incentives.trust_helpers import approve_and_publish
from tests.pipeline.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db
D = Decimal

BANDS = [
    {"from": "0", "to": "50", "rate": "2"},
    {"from": "50", "to": "100", "rate": "8"},
    {"from": "100", "to": "150", "rate": "12"},
    {"from": "150", "rate": "15"},
]


def document(payout="month", **extra):
    return {
        "schema_version": 1,
        "name": "AE FY2027",
        "effective_from": "2027-01-01",
        "components": [
            {
                "key": "bookings",
                "measure": "credited_bookings",
                "period": "quarter",
                "payout_frequency": payout,
                "rate_table": copy.deepcopy(BANDS),
            }
        ],
        **extra,
    }


def period(tenant, kind, start):
    return FiscalPeriod.objects.get(tenant=tenant, kind=kind, start=start)


def won(world, amount, day, owner=None, splits=None):
    return DealFactory(
        tenant=world.tenant,
        owner=owner or world.rep1,
        amount=D(amount),
        stage=stage_named(world.tenant, "Closed won"),
        expected_close_date=day,
        close_date=day,
        splits=splits,
    )


def credits_of(tenant, deal):
    rows = Credit.objects.filter(tenant=tenant, deal_id=deal.pk).order_by("role", "recipient_id")
    return [(c.recipient_id, c.role, c.amount) for c in rows]


@pytest.fixture
def world(world_a):
    with tenant_context(world_a.tenant):
        yield world_a


def test_split_credits_add_up_and_overlay_goes_once_to_the_manager(world):
    deal = won(
        world,
        "60000.00",
        dt.date(2027, 1, 20),
        splits=[(world.rep1, D("70")), (world.rep2, D("30"))],
    )
    written = services.credits_refresh(
        world.tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31)
    )
    assert written == 3
    assert credits_of(world.tenant, deal) == [
        (world.manager.pk, "overlay", D("60000.00")),
        (world.rep1.pk, "split", D("42000.00")),
        (world.rep2.pk, "split", D("18000.00")),
    ]
    again = services.credits_refresh(
        world.tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31)
    )
    assert again == 0


def test_three_way_split_leaves_the_cent_on_the_first_share(world):
    deal = won(
        world,
        "100000.00",
        dt.date(2027, 2, 1),
        splits=[(world.rep1, D("33.34")), (world.rep2, D("33.33")), (world.other_rep, D("33.33"))],
    )
    services.credits_refresh(world.tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31))
    credits = credits_of(world.tenant, deal)
    assert [c for c in credits if c[1] == "split"] == [
        (world.rep1.pk, "split", D("33340.00")),
        (world.rep2.pk, "split", D("33330.00")),
        (world.other_rep.pk, "split", D("33330.00")),
    ]
    # overlays: West's manager on rep1 + rep2, East's on other_rep; the root
    # team's manager (the same person as West's) is credited once per deal
    assert [c for c in credits if c[1] == "overlay"] == [
        (world.manager.pk, "overlay", D("100000.00")),
        (world.other_manager.pk, "overlay", D("33330.00")),
    ]


def test_a_deal_reopened_loses_its_credits(world):
    deal = won(world, "10000.00", dt.date(2027, 1, 20))
    services.credits_refresh(world.tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31))
    pipeline_services.deal_move(
        world.tenant,
        deal=deal,
        actor=None,
        stage=stage_named(world.tenant, "Closed lost"),
        lost_reason="x",
    )
    written = services.credits_refresh(
        world.tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31)
    )
    assert written == 2
    assert credits_of(world.tenant, deal) == []


def test_plan_version_errors_name_the_path_and_save_nothing(world):
    bad = document()
    bad["components"][0]["rate_table"][1]["from"] = "40"
    with pytest.raises(ValidationError) as caught:
        services.plan_version_create(world.tenant, source=bad, actor=world.admin)
    assert caught.value.message_dict == {
        "components[0].rate_table[1].from": ["overlaps the band before (which ends at 50)"]
    }
    assert Plan.objects.count() == 0
    assert PlanVersion.objects.count() == 0


def test_plan_version_stores_components_and_golden_results(world):
    doc = document(
        examples=[
            {
                "name": "tiers",
                "quota": "100000.00",
                "deals": [{"amount": "130000.00"}],
                "expected": {"bookings": "8600.00"},
            }
        ]
    )
    version = services.plan_version_create(world.tenant, source=doc, actor=world.admin)
    assert (version.plan.name, version.number, version.status) == ("AE FY2027", 1, "draft")
    assert list(version.components.values_list("key", "measure", "position")) == [
        ("bookings", "credited_bookings", 0)
    ]
    assert version.golden_results == [
        {"name": "tiers", "passed": True, "description": "pass: tiers: bookings 8600.00"}
    ]
    second = services.plan_version_create(
        world.tenant, source=doc, actor=world.admin, plan=version.plan
    )
    assert second.number == 2


def test_unknown_kpi_is_refused(world):
    doc = document()
    doc["components"][0] = {
        "key": "k",
        "measure": "kpi",
        "kpi": "happiness",
        "basis": "target",
        "target": "1",
        "rate_table": [{"from": "0", "rate": "100"}],
    }
    with pytest.raises(ValidationError) as caught:
        services.plan_version_create(world.tenant, source=doc, actor=world.admin)
    assert caught.value.message_dict == {"components[0].kpi": ["unknown KPI 'happiness'"]}


def test_overlapping_assignment_is_refused(world):
    version = services.plan_version_create(world.tenant, source=document(), actor=world.admin)
    services.assignment_create(
        world.tenant,
        membership=world.rep1,
        version=version,
        start_date=dt.date(2027, 1, 1),
        end_date=dt.date(2027, 6, 30),
        target_incentive=D("20000.00"),
        actor=world.admin,
    )
    with pytest.raises(ValidationError) as caught:
        services.assignment_create(
            world.tenant,
            membership=world.rep1,
            version=version,
            start_date=dt.date(2027, 6, 1),
            end_date=None,
            target_incentive=D("20000.00"),
            actor=world.admin,
        )
    assert caught.value.message_dict == {
        "start_date": ["overlaps the assignment to AE FY2027 v1 from 2027-01-01 to 2027-06-30"]
    }
    assert Assignment.objects.count() == 1


def _setup_plan(world, payout="month", **extra):
    version = services.plan_version_create(
        world.tenant,
        source=document(payout, **extra),
        actor=world.admin,
        status=VersionStatus.ACTIVE,
    )
    services.assignment_create(
        world.tenant,
        membership=world.rep1,
        version=version,
        start_date=dt.date(2027, 1, 1),
        end_date=None,
        target_incentive=D("0.00"),
        actor=world.admin,
    )
    q1 = period(world.tenant, "quarter", dt.date(2027, 1, 1))
    Quota.objects.create(
        tenant=world.tenant,
        period=q1,
        membership=world.rep1,
        measure=Measure.BOOKINGS,
        amount=D("100000.00"),
    )
    return version


def _run(world, kind, start):
    run = services.calc_run_start(
        world.tenant, period=period(world.tenant, kind, start), actor=world.finance
    )
    return services.calc_run_execute(world.tenant, run_id=run.pk)


def _lines(run):
    return list(
        StatementLine.objects.filter(statement__run=run)
        .order_by("position")
        .values_list("amount", "explanation")
    )


def test_monthly_runs_pay_the_difference_to_date(world):
    _setup_plan(world)
    won(world, "60000.00", dt.date(2027, 1, 20))
    won(world, "70000.00", dt.date(2027, 2, 10))
    january = _run(world, "month", dt.date(2027, 1, 1))
    assert Statement.objects.get(run=january).total == D("1800.00")
    approve_and_publish(world, january)
    february = _run(world, "month", dt.date(2027, 2, 1))
    statement = Statement.objects.get(run=february)
    assert statement.total == D("6800.00")
    assert [a for a, _ in _lines(february)] == [D("3200.00"), D("3600.00")]
    assert _lines(february)[0][1].endswith(": 40,000.00 x 8% in band 50-100%")


def test_a_second_run_with_nothing_changed_writes_no_rows(world):
    _setup_plan(world)
    won(world, "130000.00", dt.date(2027, 1, 20))
    first = _run(world, "month", dt.date(2027, 1, 1))
    lines_before = StatementLine.objects.count()
    second = _run(world, "month", dt.date(2027, 1, 1))
    assert first.lines_written == 3
    assert (second.lines_written, second.status, second.output_hash) == (
        0,
        CalcRun.Status.SUPERSEDED,
        first.output_hash,
    )
    assert StatementLine.objects.count() == lines_before
    first.refresh_from_db()
    assert first.status == CalcRun.Status.PREVIEW


def test_a_rerun_with_the_same_inputs_does_not_run_the_engine(world, monkeypatch):
    _setup_plan(world)
    won(world, "130000.00", dt.date(2027, 1, 20))
    first = _run(world, "month", dt.date(2027, 1, 1))
    computed = []

    def counted(document, inputs, **kwargs):
        computed.append(inputs.period)
        return compute_period(document, inputs, **kwargs)

    monkeypatch.setattr(runs_module, "compute_period", counted)
    second = _run(world, "month", dt.date(2027, 1, 1))
    assert (computed, second.status, second.inputs_hash, second.output_hash) == (
        [],
        CalcRun.Status.SUPERSEDED,
        first.inputs_hash,
        first.output_hash,
    )
    # A change of input runs it again (and writes the new lines).
    won(world, "10000.00", dt.date(2027, 1, 25))
    third = _run(world, "month", dt.date(2027, 1, 1))
    assert (len(computed), third.status, third.lines_written) == (1, CalcRun.Status.PREVIEW, 4)


def test_publishing_a_preview_whose_inputs_changed_is_refused(world):
    _setup_plan(world)
    won(world, "50000.00", dt.date(2027, 1, 20))
    preview = _run(world, "month", dt.date(2027, 1, 1))
    won(world, "10000.00", dt.date(2027, 1, 25))
    services.credits_refresh(world.tenant, start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 31))
    approval = services.approval_request(world.tenant, actor=world.admin, run=preview)
    services.approval_decide(world.tenant, approval=approval, actor=world.finance, approve=True)
    with pytest.raises(ValidationError) as caught:
        services.calc_run_publish(world.tenant, run=preview, actor=world.finance)
    assert caught.value.message_dict == {
        "run": [
            "The inputs changed since this preview was computed (deals, quotas, plans or "
            "adjustments); run the period again and publish that preview."
        ]
    }
    preview.refresh_from_db()
    assert preview.status == CalcRun.Status.PREVIEW


def test_publishing_locks_the_plan_version(world):
    version = _setup_plan(world)
    won(world, "50000.00", dt.date(2027, 1, 20))
    run = _run(world, "month", dt.date(2027, 1, 1))
    approve_and_publish(world, run)
    with pytest.raises(ValidationError) as caught:
        services.plan_version_update(
            world.tenant, version=version, source=document(), actor=world.admin
        )
    assert caught.value.message_dict == {
        "document": [
            "AE FY2027 v1 was used by a published statement and cannot change; "
            "create a new version instead."
        ]
    }


def test_cancelled_deal_of_a_closed_quarter_is_an_adjustment_in_the_next(world):
    _setup_plan(world, payout="quarter")
    won(world, "60000.00", dt.date(2027, 1, 20))
    won(world, "50000.00", dt.date(2027, 2, 10))
    late = won(world, "20000.00", dt.date(2027, 3, 5))
    q1_run = _run(world, "quarter", dt.date(2027, 1, 1))
    assert Statement.objects.get(run=q1_run).total == D("8600.00")
    approve_and_publish(world, q1_run)
    q1 = period(world.tenant, "quarter", dt.date(2027, 1, 1))
    FiscalPeriod.objects.filter(pk=q1.pk).update(is_closed=True)
    pipeline_services.deal_move(
        world.tenant,
        deal=late,
        actor=None,
        stage=stage_named(world.tenant, "Closed lost"),
        lost_reason="cancelled",
    )
    services.credits_refresh(world.tenant, start=q1.start, end=q1.end)
    q2_run = _run(world, "quarter", dt.date(2027, 4, 1))
    assert Statement.objects.get(run=q2_run).total == D("-2400.00")
    assert [(a, e.split(": ", 1)[0]) for a, e in _lines(q2_run)] == [
        (D("-2400.00"), "adjustment to FY2027 Q1")
    ]


def test_a_closed_periods_lines_are_refused_by_the_database(world):
    _setup_plan(world)
    won(world, "50000.00", dt.date(2027, 1, 20))
    run = _run(world, "month", dt.date(2027, 1, 1))
    jan = period(world.tenant, "month", dt.date(2027, 1, 1))
    FiscalPeriod.objects.filter(pk=jan.pk).update(is_closed=True)
    line = StatementLine.objects.filter(statement__run=run).first()
    with pytest.raises(DatabaseError, match="closed period"), transaction.atomic():
        StatementLine.objects.filter(pk=line.pk).update(amount=D("1.00"))
    with pytest.raises(DatabaseError, match="closed period"), transaction.atomic():
        StatementLine.objects.filter(pk=line.pk).delete()
    line.refresh_from_db()
    assert line.amount == D("1000.00")


def test_a_run_of_a_closed_period_is_refused(world):
    jan = period(world.tenant, "month", dt.date(2027, 1, 1))
    FiscalPeriod.objects.filter(pk=jan.pk).update(is_closed=True)
    jan.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        services.calc_run_start(world.tenant, period=jan, actor=world.finance)
    assert caught.value.message_dict == {
        "period": ["Jan 2027 is closed; its statements are never rewritten."]
    }
    assert CalcRun.objects.count() == 0


def test_a_won_deal_requeues_the_preview_of_its_open_period(
    world, django_capture_on_commit_callbacks
):
    _setup_plan(world)
    january = _run(world, "month", dt.date(2027, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        won(world, "50000.00", dt.date(2027, 1, 20))
    queued = CalcRun.objects.exclude(pk=january.pk)
    assert [(r.period.label, r.status) for r in queued] == [("Jan 2027", "preview")]


def test_a_deal_in_an_unpreviewed_period_queues_nothing(world, django_capture_on_commit_callbacks):
    _setup_plan(world)
    with django_capture_on_commit_callbacks(execute=True):
        won(world, "50000.00", dt.date(2027, 1, 20))
    assert CalcRun.objects.count() == 0


def test_a_preview_statement_shows_a_changed_deal_without_writing(world):
    _setup_plan(world)
    deal = won(world, "60000.00", dt.date(2027, 1, 20))
    jan = period(world.tenant, "month", dt.date(2027, 1, 1))
    _run(world, "month", dt.date(2027, 1, 1))
    pipeline_services.deal_update(world.tenant, deal=deal, actor=None, amount=D("130000.00"))
    written = StatementLine.objects.count()
    lines, total = services.statement_preview(world.tenant, period=jan, membership=world.rep1)
    assert (total, list(lines["amount"])) == (
        D("8600.00"),
        [D("1000.00"), D("4000.00"), D("3600.00")],
    )
    assert StatementLine.objects.count() == written
