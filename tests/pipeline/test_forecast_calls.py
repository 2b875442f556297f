"""Forecast categories, calls and their roll-up (docs/formulas.md section 7,
the worked example), with the bad input each service refuses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from pipeline.forecast import services
from pipeline.forecast.accuracy import forecast_accuracy, forecast_bias
from pipeline.forecast.selectors import forecast_call_history, forecast_rollup
from pipeline.models import CategoryChange, ForecastCall
from spm.models import FiscalPeriod
from tests.pipeline.factories import DealFactory

pytestmark = pytest.mark.django_db


def quarter(tenant, start=dt.date(2027, 1, 1)):
    return FiscalPeriod.objects.get(tenant=tenant, kind="quarter", start=start)


def deal(world, owner, amount, stage, **kwargs):
    kwargs.setdefault("expected_close_date", dt.date(2027, 3, 15))
    return DealFactory(
        tenant=world.tenant, owner=owner, amount=Decimal(amount), stage=stage, **kwargs
    )


@pytest.fixture
def example(world_a, in_tenant_a):
    """The worked example of docs/formulas.md section 7."""
    w = world_a
    deal(w, w.rep1, "30000.00", "Closed won", close_date=dt.date(2027, 1, 20))
    deal(w, w.rep1, "20000.00", "Closing")
    deal(w, w.rep1, "15000.00", "Proposal and negotiation")
    deal(w, w.rep1, "8000.00", "Qualification", name="Initech renewal")
    deal(w, w.rep1, "50000.00", "Closing", expected_close_date=dt.date(2027, 4, 30))
    deal(w, w.rep2, "12500.00", "Closed won", close_date=dt.date(2027, 2, 1))
    deal(w, w.rep2, "7500.00", "Closing")
    deal(w, w.other_rep, "40000.00", "Closing")
    return w


def test_a_reps_default_call_is_closed_plus_commit(example):
    rollup = forecast_rollup(example.tenant, period=quarter(example.tenant))

    row = rollup.row(example.rep1.pk)
    assert (row.figures.closed, row.figures.commit) == (Decimal("30000.00"), Decimal("20000.00"))
    assert (row.figures.best_case, row.figures.pipeline) == (
        Decimal("15000.00"),
        Decimal("8000.00"),
    )
    assert row.call == Decimal("50000.00")
    assert row.submitted is None


def test_the_owner_changes_a_category_and_the_history_keeps_it(example):
    tenant = example.tenant
    target = example.rep1.owned_deals.get(name="Initech renewal")

    services.deal_category_set(tenant, deal=target, category="commit", actor=example.rep1)

    history = list(
        CategoryChange.objects.filter(tenant=tenant, deal=target).values_list(
            "from_category", "to_category", "changed_by"
        )
    )
    assert history == [("", "pipeline", None), ("pipeline", "commit", example.rep1.pk)]
    row = forecast_rollup(tenant, period=quarter(tenant)).row(example.rep1.pk)
    assert row.call == Decimal("58000.00")


def test_manager_call_is_the_sum_of_the_reports_calls_plus_the_adjustment(example):
    tenant, period = example.tenant, quarter(example.tenant)
    services.forecast_call_submit(
        tenant, period=period, actor=example.rep2, amount=Decimal("18000.00"), note="Slip"
    )
    services.forecast_call_submit(
        tenant, period=period, actor=example.other_rep, amount=Decimal("35000.00")
    )
    east = services.forecast_call_submit(
        tenant,
        period=period,
        actor=example.other_manager,
        adjustment=Decimal("5000.00"),
        note="Globex signs",
    )
    services.forecast_call_submit(
        tenant, period=period, actor=example.rep1, amount=Decimal("52000.00")
    )
    vp = services.forecast_call_submit(
        tenant, period=period, actor=example.manager, adjustment=Decimal("-10000.00")
    )

    assert (east.rollup, east.adjustment, east.amount) == (
        Decimal("35000.00"),
        Decimal("5000.00"),
        Decimal("40000.00"),
    )
    assert (vp.rollup, vp.adjustment, vp.amount) == (
        Decimal("110000.00"),
        Decimal("-10000.00"),
        Decimal("100000.00"),
    )
    rollup = forecast_rollup(tenant, period=period)
    assert rollup.company_call == Decimal("100000.00")
    assert rollup.row(example.other_manager.pk).submitted == east


def test_a_subtrees_rollup_has_the_rows_of_the_whole_rollup(example):
    tenant, period = example.tenant, quarter(example.tenant)
    services.forecast_call_submit(
        tenant, period=period, actor=example.other_rep, amount=Decimal("35000.00")
    )
    services.forecast_call_submit(
        tenant, period=period, actor=example.other_manager, adjustment=Decimal("5000.00")
    )

    east = forecast_rollup(tenant, period=period, under=example.other_manager.pk)

    assert set(east.rows) == {example.other_manager.pk, example.other_rep.pk}
    row = east.row(example.other_manager.pk)
    assert (row.figures.commit, row.rollup, row.adjustment, row.call) == (
        Decimal("40000.00"),
        Decimal("35000.00"),
        Decimal("5000.00"),
        Decimal("40000.00"),
    )
    assert east.company_call == Decimal("40000.00")
    whole = forecast_rollup(tenant, period=period)
    for pk in (example.manager.pk, example.rep1.pk, example.other_manager.pk):
        part = forecast_rollup(tenant, period=period, under=pk)
        assert {k: (r.figures, r.call) for k, r in part.rows.items()} == {
            k: (whole.rows[k].figures, whole.rows[k].call) for k in part.rows
        }
    assert forecast_rollup(tenant, period=period, under=example.manager.pk).company_call == (
        whole.company_call
    )


def test_a_resubmission_keeps_the_history(example):
    tenant, period = example.tenant, quarter(example.tenant)
    first = services.forecast_call_submit(tenant, period=period, actor=example.rep1)
    second = services.forecast_call_submit(
        tenant, period=period, actor=example.rep1, amount="45,000.00", note="Pushing Umbrella"
    )

    history = list(forecast_call_history(tenant, period=period, member_ids=[example.rep1.pk]))
    assert history == [second, first]
    assert (first.amount, second.amount, second.adjustment) == (
        Decimal("50000.00"),
        Decimal("45000.00"),
        Decimal("-5000.00"),
    )
    assert forecast_rollup(tenant, period=period).row(example.rep1.pk).call == Decimal("45000.00")


def test_accuracy_and_bias_of_a_past_call():
    assert forecast_accuracy(Decimal("100000.00"), Decimal("80000.00")) == Decimal("0.7500")
    assert forecast_bias(Decimal("100000.00"), Decimal("80000.00")) == Decimal("0.2500")
    assert forecast_accuracy(Decimal("70000.00"), Decimal("80000.00")) == Decimal("0.8750")
    assert forecast_bias(Decimal("70000.00"), Decimal("80000.00")) == Decimal("-0.1250")
    assert forecast_accuracy(Decimal("5.00"), Decimal("0.00")) is None


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        (
            {"amount": Decimal("-1.00")},
            "amount",
            "A call cannot be below zero (this makes it -1.00).",
        ),  # noqa: E501
        ({"amount": "lots"}, "amount", "Enter a number."),
        ({"adjustment": "NaN"}, "adjustment", "Enter a number."),
    ],
)
def test_bad_calls_are_refused_naming_the_field(example, kwargs, field, message):
    with pytest.raises(ValidationError) as raised:
        services.forecast_call_submit(
            example.tenant, period=quarter(example.tenant), actor=example.rep1, **kwargs
        )

    assert raised.value.message_dict == {field: [message]}
    assert ForecastCall.objects.filter(tenant=example.tenant).count() == 0


def test_a_manager_adjustment_below_zero_is_refused(example):
    with pytest.raises(ValidationError) as raised:
        services.forecast_call_submit(
            example.tenant,
            period=quarter(example.tenant),
            actor=example.other_manager,
            adjustment=Decimal("-40000.01"),
        )

    assert raised.value.message_dict == {
        "adjustment": ["A call cannot be below zero (this makes it -0.01)."]
    }
    assert ForecastCall.objects.filter(tenant=example.tenant).count() == 0


def test_a_call_for_a_closed_period_is_refused(example):
    period = quarter(example.tenant, start=dt.date(2026, 10, 1))
    FiscalPeriod.objects.filter(pk=period.pk).update(is_closed=True)

    with pytest.raises(ValidationError) as raised:
        services.forecast_call_submit(example.tenant, period=period, actor=example.rep1)

    assert raised.value.message_dict == {
        "period": ["FY2026 Q4 is closed; its calls cannot be changed."]
    }
    assert ForecastCall.objects.filter(tenant=example.tenant).count() == 0


def test_an_adjustment_outside_the_subtree_is_refused(example):
    with pytest.raises(ValidationError) as raised:
        services.forecast_call_submit(
            example.tenant,
            period=quarter(example.tenant),
            actor=example.other_manager,
            member=example.rep1,
            adjustment=Decimal("1000.00"),
        )

    assert raised.value.message_dict == {
        "member": ["You can only submit or adjust calls of your own subtree."]
    }
    assert ForecastCall.objects.filter(tenant=example.tenant).count() == 0


def test_an_unknown_category_is_refused(example):
    target = example.rep1.owned_deals.get(name="Initech renewal")

    with pytest.raises(ValidationError) as raised:
        services.deal_category_set(
            example.tenant, deal=target, category="maybe", actor=example.rep1
        )

    assert raised.value.message_dict == {
        "forecast_category": [
            "'maybe' is not a forecast category (use pipeline, best_case, commit, omitted)."
        ]
    }
    target.refresh_from_db()
    assert target.forecast_category == "pipeline"
    assert CategoryChange.objects.filter(tenant=example.tenant, deal=target).count() == 1
