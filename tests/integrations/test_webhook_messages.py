"""Which domain events make which webhook messages, and the dispatch that
turns them into deliveries (no worker: the deliveries are read back)."""

from __future__ import annotations

from decimal import Decimal

from coaching import services as coaching_services
from coaching.models import Review
from goals import services as goal_services
from integrations.models import WebhookDelivery
from integrations.webhooks import services as webhooks
from integrations.webhooks.messages import webhook_messages
from spm import events
from spm.tenancy.context import tenant_context
from tests.coaching.factories import q1
from tests.goals.factories import GoalFactory

ALL_TYPES = {
    "deal.won",
    "quota.changed",
    "statement.published",
    "statement.disputed",
    "statement.dispute_resolved",
    "forecast.submitted",
    "goal.approved",
    "review.completed",
    "kpi_run.finished",
}


def test_each_event_makes_its_message_and_only_wanted_types(in_tenant_a):
    tenant = in_tenant_a
    t = tenant.pk
    batch = [
        events.StatementsPublished(
            tenant_id=t,
            run_id=4,
            period_id=9,
            statements=(events.PublishedStatement(11, 21, Decimal("1234.50"), "EUR"),),
        ),
        events.GoalStatusChanged(
            tenant_id=t,
            goal_id=5,
            owner_membership_id=21,
            owner_team_id=None,
            old_status="proposed",
            new_status="approved",
            actor_id=3,
        ),
        events.GoalStatusChanged(
            tenant_id=t,
            goal_id=6,
            owner_membership_id=21,
            owner_team_id=None,
            old_status="draft",
            new_status="proposed",
            actor_id=21,
        ),
        events.TaskRunFinished(
            tenant_id=t, run_id=8, kind="kpis.recompute", status="succeeded", rows=40, message="ok"
        ),
        events.TaskRunFinished(
            tenant_id=t,
            run_id=9,
            kind="incentives.calc_run",
            status="succeeded",
            rows=3,
            message="",
        ),
        events.StatementDisputed(tenant_id=t, dispute_id=2, statement_id=11, membership_id=21),
        events.StatementDisputeResolved(
            tenant_id=t, dispute_id=2, statement_id=11, membership_id=21, outcome="rejected"
        ),
        events.ForecastSubmitted(
            tenant_id=t, forecast_id=7, membership_id=21, period_id=9, amount=Decimal("80000.00")
        ),
        events.ReviewCompleted(tenant_id=t, review_id=3, membership_id=21),
    ]

    assert webhook_messages(tenant, batch, wanted=ALL_TYPES) == [
        (
            "statement.published",
            {
                "run_id": 4,
                "period_id": 9,
                "statements": [
                    {
                        "statement_id": 11,
                        "membership_id": 21,
                        "total": "1234.50",
                        "currency": "EUR",
                    }
                ],
            },
        ),
        (
            "goal.approved",
            {
                "goal_id": 5,
                "owner_membership_id": 21,
                "owner_team_id": None,
                "approved_by_id": 3,
            },
        ),
        (
            "kpi_run.finished",
            {"run_id": 8, "status": "succeeded", "rows": 40, "message": "ok"},
        ),
        ("statement.disputed", {"dispute_id": 2, "statement_id": 11, "membership_id": 21}),
        (
            "statement.dispute_resolved",
            {"dispute_id": 2, "statement_id": 11, "membership_id": 21, "outcome": "rejected"},
        ),
        (
            "forecast.submitted",
            {"forecast_id": 7, "membership_id": 21, "period_id": 9, "amount": "80000.00"},
        ),
        ("review.completed", {"review_id": 3, "membership_id": 21}),
    ]
    assert webhook_messages(tenant, batch, wanted={"review.completed"}) == [
        ("review.completed", {"review_id": 3, "membership_id": 21})
    ]


def test_goal_approval_queues_one_delivery_per_subscription_that_asked(
    world_a, django_capture_on_commit_callbacks
):
    tenant = world_a.tenant
    with tenant_context(tenant):
        wants = webhooks.webhook_subscribe(
            tenant, url="http://127.0.0.1:9/a", event_types=["goal.approved"], actor=world_a.admin
        )
        webhooks.webhook_subscribe(
            tenant, url="http://127.0.0.1:9/b", event_types=["deal.won"], actor=world_a.admin
        )
        goal = GoalFactory(tenant=tenant, actor=world_a.admin, submit=True)
        with django_capture_on_commit_callbacks(execute=True):
            goal_services.goal_approve(tenant, actor=world_a.admin, goal=goal)
        (delivery,) = WebhookDelivery.objects.all()

    assert (delivery.subscription_id, delivery.event_type, delivery.status) == (
        wants.pk,
        "goal.approved",
        "pending",
    )
    assert delivery.payload["data"] == {
        "goal_id": goal.pk,
        "owner_membership_id": None,
        "owner_team_id": None,
        "approved_by_id": world_a.admin.pk,
    }
    assert delivery.message_id.startswith("msg_")


def test_a_review_is_completed_by_its_second_side_and_queued_once(
    world_a, django_capture_on_commit_callbacks
):
    """The self review alone sends nothing; the manager's, the second side,
    sends one review.completed naming the review and the person reviewed."""
    tenant = world_a.tenant
    with tenant_context(tenant):
        webhooks.webhook_subscribe(
            tenant,
            url="http://127.0.0.1:9/r",
            event_types=["review.completed"],
            actor=world_a.admin,
        )
        cycle = coaching_services.cycle_open(
            tenant,
            actor=world_a.admin,
            name="Q1 2027 review",
            period=q1(tenant),
            questions=[{"key": "wins", "text": "What went well?", "kind": "text"}],
        )
        review = Review.objects.select_related("cycle").get(cycle=cycle, member=world_a.rep1)
        with django_capture_on_commit_callbacks(execute=True):
            coaching_services.review_submit_self(
                tenant, actor=world_a.rep1, review=review, answers={"wins": "Globex"}
            )
        assert not WebhookDelivery.objects.exists()
        with django_capture_on_commit_callbacks(execute=True):
            coaching_services.review_submit_manager(
                tenant,
                actor=world_a.manager,
                review=review,
                answers={"wins": "Globex, early"},
                overall_rating=4,
            )
        (delivery,) = WebhookDelivery.objects.all()

    assert delivery.event_type == "review.completed"
    assert delivery.payload["data"] == {"review_id": review.pk, "membership_id": world_a.rep1.pk}
