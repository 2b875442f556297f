"""MBO objectives: weights to 100%, scoring by the manager, caps, closed periods."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from goals import engine, selectors, services
from goals.models import Objective, ObjectiveScore
from spm import services as core_services
from spm.models import AuditEvent
from tests.goals.factories import period, rep1_objective

pytestmark = pytest.mark.django_db


def _formulas_set(world, q1):
    return [
        rep1_objective(
            world,
            period=q1,
            title=title,
            weight=Decimal(weight),
        )
        for title, weight in (
            ("Launch the partner channel", "0.40"),
            ("Certify on the new product", "0.35"),
            ("Clean up the CRM", "0.25"),
        )
    ]


def test_weighted_score_of_scored_objectives_reproduces_formulas(world_a, in_tenant_a):
    # docs/formulas.md section 4: 40/35/25 scored 100/80/50 -> 0.805;
    # target bonus 5,000.00 -> 4,025.00.
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    objectives = _formulas_set(world_a, q1)
    for objective, score in zip(objectives, ("1.00", "0.80", "0.50"), strict=True):
        services.objective_score(
            t, actor=world_a.manager, objective=objective, score=Decimal(score)
        )
    (mbo,) = selectors.objective_sets(t, viewer=world_a.rep1, period=q1)
    assert mbo.score == Decimal("0.805")
    assert engine.mbo_payout(mbo.score, Decimal("5000.00")) == Decimal("4025.00")
    assert AuditEvent.objects.filter(action="objective.score").count() == 3


def test_scoring_waits_until_the_weights_add_up_to_100_percent(world_a, in_tenant_a):
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    first = rep1_objective(
        world_a,
        period=q1,
        title="Launch the partner channel",
        weight=Decimal("0.40"),
    )
    with pytest.raises(ValidationError) as exc:
        services.objective_score(t, actor=world_a.manager, objective=first, score=Decimal("1"))
    assert exc.value.message_dict == {
        "weight": [
            "The weights of this set add up to 40%; make them add up to 100% before scoring."
        ]
    }
    with pytest.raises(ValidationError) as over:
        rep1_objective(
            world_a,
            period=q1,
            title="Too heavy",
            weight=Decimal("0.70"),
        )
    assert over.value.message_dict == {
        "weight": ["The weights would add up to 110%; they must add up to 100%."]
    }
    assert ObjectiveScore.objects.count() == 0


def test_a_score_is_stored_as_measured_and_counts_up_to_the_cap(world_a, in_tenant_a):
    # given: two objectives of 50% each, one capped at 120%, one at 100%
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    stretch = rep1_objective(
        world_a, period=q1, title="Overachieve", weight=Decimal("0.5"), score_cap=Decimal("1.2")
    )
    steady = rep1_objective(world_a, period=q1, title="Keep the CRM clean", weight=Decimal("0.5"))

    # when: the manager records 140% and 80%
    services.objective_score(t, actor=world_a.manager, objective=stretch, score=Decimal("1.40"))
    services.objective_score(t, actor=world_a.manager, objective=steady, score=Decimal("0.80"))

    # then: 140% is kept, counts 120%: 0.5 x 1.20 + 0.5 x 0.80 = 1.00
    assert ObjectiveScore.objects.get(objective=stretch).score == Decimal("1.400000")
    (mbo,) = selectors.objective_sets(t, viewer=world_a.rep1, period=q1)
    assert [(o.current_score, o.counted_score, o.weighted_score) for o in mbo.objectives] == [
        (Decimal("1.400000"), Decimal("1.200000"), Decimal("0.600000000000")),
        (Decimal("0.800000"), Decimal("0.800000"), Decimal("0.400000000000")),
    ]
    assert mbo.score == Decimal("1")
    # a cap lowered below a recorded score is allowed: the score stays, what counts follows
    services.objective_update(t, actor=world_a.manager, objective=stretch, score_cap=Decimal("1"))
    (mbo,) = selectors.objective_sets(t, viewer=world_a.rep1, period=q1)
    assert mbo.score == Decimal("0.9")


def test_a_score_above_1000_percent_is_refused(world_a, in_tenant_a):
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    objective = rep1_objective(world_a, period=q1, title="Overachieve", weight=Decimal("1"))

    with pytest.raises(ValidationError) as exc:
        services.objective_score(
            t, actor=world_a.manager, objective=objective, score=Decimal("10.5")
        )

    assert exc.value.message_dict == {"score": ["A score is at most 1000% (got 1050%)."]}
    assert ObjectiveScore.objects.count() == 0


def test_scores_of_a_closed_period_are_locked(world_a, in_tenant_a):
    t = world_a.tenant
    jan = period(t, "month", 2027, 1)
    objective = rep1_objective(
        world_a,
        period=jan,
        title="Close the books",
        weight=Decimal("1"),
    )
    services.objective_score(t, actor=world_a.manager, objective=objective, score=Decimal("0.9"))
    core_services.period_close(t, period=jan, actor=world_a.admin.user)
    objective.period.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        services.objective_score(t, actor=world_a.manager, objective=objective, score=Decimal("1"))
    assert exc.value.message_dict == {
        "period": ["Jan 2027 is closed; its objectives and scores are locked."]
    }
    assert ObjectiveScore.objects.get().score == Decimal("0.900000")


def test_only_the_manager_or_an_admin_scores(world_a, in_tenant_a):
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    objective = rep1_objective(
        world_a,
        period=q1,
        title="Whole year",
        weight=Decimal("1"),
    )
    for actor in (world_a.rep1, world_a.other_manager, world_a.finance):
        with pytest.raises(PermissionDenied):
            services.objective_score(t, actor=actor, objective=objective, score=Decimal("1"))
    assert ObjectiveScore.objects.count() == 0


def test_objectives_replace_requires_exactly_100_percent(world_a, in_tenant_a):
    t = world_a.tenant
    q1 = period(t, "quarter", 2027, 1)
    items = [
        services.ObjectiveInput(title="A goal", weight=Decimal("0.5")),
        services.ObjectiveInput(title="B goal", weight=Decimal("0.4")),
    ]
    with pytest.raises(ValidationError) as exc:
        services.objectives_replace(
            t, actor=world_a.manager, membership=world_a.rep1, period=q1, items=items
        )
    assert exc.value.message_dict == {
        "weight": ["The weights add up to 90%; they must add up to 100%."]
    }
    items[1] = services.ObjectiveInput(title="B goal", weight=Decimal("0.5"))
    saved = services.objectives_replace(
        t, actor=world_a.manager, membership=world_a.rep1, period=q1, items=items
    )
    reordered = [
        services.ObjectiveInput(title="B goal", weight=Decimal("0.3"), pk=saved[1].pk),
        services.ObjectiveInput(title="C goal", weight=Decimal("0.7")),
    ]
    services.objectives_replace(
        t, actor=world_a.manager, membership=world_a.rep1, period=q1, items=reordered
    )
    assert list(
        Objective.objects.order_by("position").values_list("title", "weight", "position")
    ) == [
        ("B goal", Decimal("0.300000"), 0),
        ("C goal", Decimal("0.700000"), 1),
    ]
