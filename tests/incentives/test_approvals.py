"""Approvals (publishing a run, activating a plan version) and plan acceptance:
services, API, pages, notifications and the query counts of the trust pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from incentives import services
from incentives.models import (
    Approval,
    Assignment,
    CalcRun,
    Notification,
    PlanAcceptance,
    PlanVersion,
    Statement,
)
from spm import services as spm_services
from spm.models import Role
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD, api_client_for, client_for
from tests.incentives.trust_helpers import (
    JAN1,
    approve_and_publish,
    period,
    plan_document,
    published_january,
    run_period,
    setup_plan,
    won,
)

pytestmark = pytest.mark.django_db
D = Decimal
API = "/api/v1/alpha/"


@pytest.fixture
def world(world_a):
    with tenant_context(world_a.tenant):
        yield world_a


def _second(world, role, local, first, last):
    return spm_services.membership_add(
        world.tenant,
        email=f"{local}@alpha.test",
        first_name=first,
        last_name=last,
        role=role,
        team=None,
        start_date=dt.date(2026, 1, 1),
        password=PASSWORD,
    )


def _preview(world) -> CalcRun:
    setup_plan(world)
    won(world, "60000.00", dt.date(2027, 1, 20))
    return run_period(world)


def _day(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d}"


# Publishing a run needs finance's approval.


def test_publishing_waits_for_finance_to_approve_and_each_step_is_told(world):
    run = _preview(world)
    with pytest.raises(ValidationError) as never_asked:
        services.calc_run_publish(world.tenant, run=run, actor=world.finance)

    approval = services.approval_request(
        world.tenant, actor=world.admin, run=run, note="January close"
    )
    with pytest.raises(ValidationError) as pending:
        services.calc_run_publish(world.tenant, run=run, actor=world.finance)
    asked = Notification.objects.get(kind="approval_requested")
    services.approval_decide(world.tenant, approval=approval, actor=world.finance, approve=True)
    services.calc_run_publish(world.tenant, run=run, actor=world.admin)

    assert never_asked.value.message_dict == {
        "run": [
            "Publishing needs finance's approval: request it on the run's page "
            "(or POST approvals/ with this run) and publish once finance approves."
        ]
    }
    assert pending.value.message_dict == {
        "run": [
            "Publishing awaits finance's approval (requested by Ada Admin on "
            f"{_day(approval.requested_at)})."
        ]
    }
    assert (asked.recipient, asked.title, asked.body, asked.link) == (
        world.finance,
        "Approval requested: Publish the statements of Jan 2027",
        "Ada Admin asks you to approve it. Note: January close",
        f"/alpha/incentives/runs/{run.pk}/",
    )
    decided = Notification.objects.get(kind="approval_decided")
    assert (decided.recipient, decided.title) == (
        world.admin,
        "Publish the statements of Jan 2027: approved by Fin Ance",
    )
    approval.refresh_from_db()
    run.refresh_from_db()
    assert (approval.status, approval.decided_by, run.status) == (
        "approved",
        world.finance,
        "published",
    )


def test_a_rejection_says_why_and_the_run_can_be_asked_again(world):
    run = _preview(world)
    approval = services.approval_request(world.tenant, actor=world.admin, run=run)
    with pytest.raises(ValidationError) as silent:
        services.approval_decide(
            world.tenant, approval=approval, actor=world.finance, approve=False
        )
    services.approval_decide(
        world.tenant,
        approval=approval,
        actor=world.finance,
        approve=False,
        answer="Quotas of West are missing",
    )
    with pytest.raises(ValidationError) as refused:
        services.calc_run_publish(world.tenant, run=run, actor=world.finance)
    again = services.approval_request(world.tenant, actor=world.admin, run=run)

    assert silent.value.message_dict == {"answer": ["Say why the request is rejected."]}
    assert refused.value.message_dict == {
        "run": [
            "Finance (Fin Ance) rejected publishing this run: Quotas of West are missing. "
            "Request approval again once it is fixed."
        ]
    }
    assert [(a.pk, a.status) for a in Approval.objects.order_by("id")] == [
        (approval.pk, "rejected"),
        (again.pk, "pending"),
    ]


def test_finance_does_not_decide_their_own_request_while_another_finance_member_can(world):
    second = _second(world, Role.FINANCE, "finance2", "Fay", "Nance")
    run = _preview(world)
    approval = services.approval_request(world.tenant, actor=world.finance, run=run)

    with pytest.raises(PermissionDenied) as own:
        services.approval_decide(world.tenant, approval=approval, actor=world.finance, approve=True)
    with pytest.raises(PermissionDenied) as admin:
        services.approval_decide(world.tenant, approval=approval, actor=world.admin, approve=True)
    assert Approval.objects.get().status == "pending"
    services.approval_decide(world.tenant, approval=approval, actor=second, approve=True)

    assert str(own.value) == (
        "You asked for this: another finance member decides it (the tenant has more than one)."
    )
    assert str(admin.value) == "Only finance decides this request."
    assert Notification.objects.filter(kind="approval_requested").get().recipient == second
    assert Approval.objects.get().decided_by == second


def test_a_lone_finance_member_approves_their_own_request(world):
    run = _preview(world)
    approval = services.approval_request(world.tenant, actor=world.finance, run=run)
    services.approval_decide(world.tenant, approval=approval, actor=world.finance, approve=True)
    assert Approval.objects.get().status == "approved"
    assert Notification.objects.filter(kind__startswith="approval_").count() == 0


def test_only_admins_and_finance_ask_and_one_request_at_a_time(world):
    run = _preview(world)
    with pytest.raises(PermissionDenied):
        services.approval_request(world.tenant, actor=world.manager, run=run)
    services.approval_request(world.tenant, actor=world.admin, run=run)
    with pytest.raises(ValidationError) as twice:
        services.approval_request(world.tenant, actor=world.finance, run=run)
    assert twice.value.message_dict == {"run": ["A request is already pending."]}
    assert Approval.objects.count() == 1


# Activating a plan version needs an admin's approval.


def test_a_draft_is_activated_by_another_admin_than_who_asked(world):
    second = _second(world, Role.ADMIN, "admin2", "Abe", "Second")
    draft = services.plan_version_create(world.tenant, source=plan_document(), actor=world.admin)
    approval = services.approval_request(world.tenant, actor=world.admin, version=draft)

    with pytest.raises(PermissionDenied) as own:
        services.approval_decide(world.tenant, approval=approval, actor=world.admin, approve=True)
    with pytest.raises(PermissionDenied) as finance:
        services.approval_decide(world.tenant, approval=approval, actor=world.finance, approve=True)
    draft.refresh_from_db()
    assert draft.status == "draft"
    services.approval_decide(world.tenant, approval=approval, actor=second, approve=True)

    draft.refresh_from_db()
    assert draft.status == "active"
    assert str(own.value) == (
        "You asked for this: another admin member decides it (the tenant has more than one)."
    )
    assert str(finance.value) == "Only admin decides this request."
    asked = Notification.objects.get(kind="approval_requested")
    assert (asked.recipient, asked.title, asked.link) == (
        second,
        "Approval requested: Activate AE FY2027 v1",
        f"/alpha/incentives/versions/{draft.pk}/",
    )
    with pytest.raises(ValidationError) as active:
        services.approval_request(world.tenant, actor=second, version=draft)
    assert active.value.message_dict == {"version": ["AE FY2027 v1 is already active."]}


def test_activating_a_version_that_overlaps_an_active_one_is_refused(world):
    services.plan_version_create(
        world.tenant, source=plan_document(), actor=world.admin, status="active"
    )
    draft = services.plan_version_create(world.tenant, source=plan_document(), actor=world.admin)
    approval = services.approval_request(world.tenant, actor=world.admin, version=draft)
    with pytest.raises(ValidationError) as clash:
        services.approval_decide(world.tenant, approval=approval, actor=world.admin, approve=True)
    assert clash.value.message_dict == {
        "version": ["overlaps active version 1 (2027-01-01 to open)"]
    }
    draft.refresh_from_db()
    assert (draft.status, Approval.objects.get().status) == ("draft", "pending")


# Plan acceptance.


def test_an_assigned_member_is_told_and_accepts_once_with_the_date(world):
    version = setup_plan(world)
    assignment = Assignment.objects.get(membership=world.rep1)
    told = Notification.objects.get(kind="plan_assigned")
    assert (told.recipient, told.title, told.link) == (
        world.rep1,
        "You are on AE FY2027 v1 from 2027-01-01: please accept it",
        "/alpha/incentives/plans/mine/",
    )
    assert services.notifications_email(world.tenant, notification_ids=[told.pk]) == 1
    assert mail.outbox[0].subject == (
        "[Alpha Inc] You are on AE FY2027 v1 from 2027-01-01: please accept it"
    )

    first = services.plan_accept(world.tenant, assignment=assignment, actor=world.rep1)
    again = services.plan_accept(world.tenant, assignment=assignment, actor=world.rep1)
    with pytest.raises(ValidationError):
        services.plan_accept(world.tenant, assignment=assignment, actor=world.rep2)

    assert (again.pk, again.accepted_at) == (first.pk, first.accepted_at)
    assert list(PlanAcceptance.objects.values_list("membership", "assignment__version")) == [
        (world.rep1.pk, version.pk)
    ]


def test_a_team_assignment_tells_its_members_in_one_notification_batch(world):
    version = services.plan_version_create(world.tenant, source=plan_document(), actor=world.admin)
    services.assignment_create_for_team(
        world.tenant,
        team=world.team,
        version=version,
        start_date=JAN1,
        end_date=None,
        target_incentive=D("0.00"),
        actor=world.admin,
    )
    assert sorted(
        Notification.objects.filter(kind="plan_assigned").values_list("recipient", flat=True)
    ) == sorted([world.rep1.pk, world.rep2.pk])


# API.


def test_approvals_through_the_api_with_reach(world, world_b):
    run = _preview(world)
    admin, finance = api_client_for(world.admin.user), api_client_for(world.finance.user)
    asked = admin.post(f"{API}approvals/", {"run": run.pk, "note": "Jan"}, format="json")
    assert asked.status_code == 201, asked.json()
    body = asked.json()
    assert {k: body[k] for k in ("kind", "run", "subject", "status", "note", "may_decide")} == {
        "kind": "run_publish",
        "run": run.pk,
        "subject": "Publish the statements of Jan 2027",
        "status": "pending",
        "note": "Jan",
        "may_decide": False,
    }
    listed = finance.get(f"{API}approvals/?status=pending").json()["results"]
    assert [(r["id"], r["may_decide"]) for r in listed] == [(body["id"], True)]
    for member in (world.rep1, world.manager):
        assert api_client_for(member.user).get(f"{API}approvals/").status_code == 403
    other = api_client_for(world_b.finance.user)
    assert other.get(f"/api/v1/alpha/approvals/{body['id']}/").status_code == 404
    assert other.get(f"/api/v1/beta/approvals/{body['id']}/").status_code == 404
    by_admin = admin.post(f"{API}approvals/{body['id']}/approve/")
    assert (by_admin.status_code, by_admin.json()["detail"]) == (
        403,
        "Only finance decides this request.",
    )
    silent = finance.post(f"{API}approvals/{body['id']}/reject/")
    assert (silent.status_code, silent.json()["errors"]) == (
        400,
        [{"field": "answer", "message": "Say why the request is rejected."}],
    )
    assert Approval.objects.get().status == "pending"
    approved = finance.post(
        f"{API}approvals/{body['id']}/approve/", {"answer": "ok"}, format="json"
    )
    assert {k: approved.json()[k] for k in ("status", "decider_name", "answer")} == {
        "status": "approved",
        "decider_name": "Fin Ance",
        "answer": "ok",
    }
    published = finance.post(f"{API}calc-runs/{run.pk}/publish/")
    assert published.json()["status"] == "published"


def test_a_version_is_created_as_a_draft_and_activated_through_approvals(world):
    admin = api_client_for(world.admin.user)
    refused = admin.post(
        f"{API}plan-versions/", {"document": plan_document(), "status": "active"}, format="json"
    )
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (400, "status")
    assert PlanVersion.objects.count() == 0
    draft = admin.post(f"{API}plan-versions/", {"document": plan_document()}, format="json")
    asked = admin.post(f"{API}approvals/", {"version": draft.json()["id"]}, format="json")
    both = admin.post(f"{API}approvals/", {"version": draft.json()["id"], "run": 1}, format="json")
    assert both.status_code == 400
    approved = admin.post(f"{API}approvals/{asked.json()['id']}/approve/")
    assert approved.json()["status"] == "approved"
    assert admin.get(f"{API}plan-versions/{draft.json()['id']}/").json()["status"] == "active"


def test_plan_acceptance_through_the_api(world, world_b):
    setup_plan(world, members=[world.rep1, world.other_rep])
    mine = Assignment.objects.get(membership=world.rep1)
    theirs = Assignment.objects.get(membership=world.other_rep)
    rep = api_client_for(world.rep1.user)

    created = rep.post(f"{API}plan-acceptances/", {"assignment": mine.pk}, format="json")
    again = rep.post(f"{API}plan-acceptances/", {"assignment": mine.pk}, format="json")
    other = rep.post(f"{API}plan-acceptances/", {"assignment": theirs.pk}, format="json")
    foreign = api_client_for(world_b.rep1.user).post(
        f"{API}plan-acceptances/", {"assignment": mine.pk}, format="json"
    )

    assert (created.status_code, again.status_code, other.status_code) == (201, 200, 404)
    assert foreign.status_code == 404
    assert again.json() == created.json()
    assert {k: created.json()[k] for k in ("assignment", "membership", "plan")} == {
        "assignment": mine.pk,
        "membership": world.rep1.pk,
        "plan": "AE FY2027 v1",
    }
    assert [r["id"] for r in rep.get(f"{API}plan-acceptances/").json()["results"]] == [
        created.json()["id"]
    ]
    assert (
        api_client_for(world.other_rep.user).get(f"{API}plan-acceptances/").json()["results"] == []
    )
    admin = api_client_for(world.admin.user)
    pending = admin.get(f"{API}assignments/?accepted=false").json()["results"]
    accepted = admin.get(f"{API}assignments/?accepted=true").json()["results"]
    assert [(r["membership"], r["accepted_at"]) for r in pending] == [(world.other_rep.pk, None)]
    assert [(r["membership"], r["accepted_at"]) for r in accepted] == [
        (world.rep1.pk, created.json()["accepted_at"])
    ]


# Pages.


def test_the_version_page_requests_and_the_approvals_page_decides(world):
    second = _second(world, Role.ADMIN, "admin2", "Abe", "Second")
    draft = services.plan_version_create(world.tenant, source=plan_document(), actor=world.admin)
    page = client_for(world.admin.user)
    before = page.get(f"/alpha/incentives/versions/{draft.pk}/").content.decode()
    assert 'data-testid="request-activation"' in before

    asked = page.post(
        f"/alpha/incentives/versions/{draft.pk}/request-activation/",
        {"note": "FY27 rates"},
        follow=True,
    ).content.decode()
    assert "Activation of AE FY2027 v1 requested from an admin." in asked
    assert "waiting for an admin" in asked
    assert 'data-testid="request-activation"' not in asked
    assert "You asked for this: another admin member decides it" in asked

    queue = client_for(second.user)
    listed = queue.get("/alpha/incentives/approvals/").content.decode()
    approval = Approval.objects.get()
    assert f'data-testid="decide-{approval.pk}"' in listed
    decided = queue.post(
        f"/alpha/incentives/approvals/{approval.pk}/decide/",
        {"decision": "approve", "next": "/alpha/incentives/approvals/"},
        follow=True,
    ).content.decode()
    assert "Approved: Activate AE FY2027 v1." in decided
    draft.refresh_from_db()
    assert draft.status == "active"
    assert client_for(world.rep1.user).get("/alpha/incentives/approvals/").status_code == 403


def test_a_rep_accepts_their_plan_from_their_statements_and_the_assignments_show_who_has_not(
    world,
):
    setup_plan(world, members=[world.rep1, world.other_rep])
    mine = Assignment.objects.get(membership=world.rep1)
    rep = client_for(world.rep1.user)
    listing = rep.get("/alpha/incentives/statements/").content.decode()
    assert "You are on <strong>AE FY2027 v1</strong> from" in listing
    accepted = rep.post(
        f"/alpha/incentives/assignments/{mine.pk}/accept/",
        {"next": "/alpha/incentives/statements/"},
        follow=True,
    )
    assert accepted.redirect_chain == [("/alpha/incentives/statements/", 302)]
    assert "You accepted AE FY2027 v1." in accepted.content.decode()
    assert 'data-testid="accept-plan"' not in accepted.content.decode()
    theirs = Assignment.objects.get(membership=world.other_rep)
    assert rep.post(f"/alpha/incentives/assignments/{theirs.pk}/accept/").status_code == 404

    admin = client_for(world.admin.user)
    q1 = f"period={period(world.tenant, 'quarter', JAN1).pk}"
    pending = admin.get(f"/alpha/incentives/assignments/?{q1}&acceptance=pending")
    everyone = admin.get(f"/alpha/incentives/assignments/?{q1}")
    assert [a.membership for a in pending.context["assignments"]] == [world.other_rep]
    assert [(a.membership, a.accepted_at is not None) for a in everyone.context["assignments"]] == [
        (world.rep1, True),
        (world.other_rep, False),
    ]
    assert "Not yet" in everyone.content.decode()


# Query counts of the trust pages: fixed however many rows they list.


@pytest.mark.parametrize("requests", [1, 3])
def test_the_approvals_page_reads_in_a_fixed_number_of_queries(
    world, requests, django_assert_num_queries
):
    setup_plan(world)
    for month in range(requests):
        start = dt.date(2027, 1 + month, 1)
        run = run_period(world, start=start)
        services.approval_request(world.tenant, actor=world.admin, run=run)
    page = client_for(world.finance.user)
    page.get("/alpha/incentives/approvals/")
    with django_assert_num_queries(APPROVALS_PAGE):
        response = page.get("/alpha/incentives/approvals/")
    assert len(response.context["pending"]) == requests


@pytest.mark.parametrize("disputes", [1, 3])
def test_the_dispute_queue_reads_in_a_fixed_number_of_queries(
    world, disputes, django_assert_num_queries
):
    statement = published_january(world)
    for n in range(disputes):
        services.dispute_open(world.tenant, statement=statement, actor=world.rep1, reason=f"#{n}")
    page = client_for(world.finance.user)
    page.get("/alpha/incentives/disputes/")
    with django_assert_num_queries(DISPUTE_QUEUE):
        response = page.get("/alpha/incentives/disputes/")
    assert len(response.context["disputes"]) == disputes


@pytest.mark.parametrize("extra_deals", [0, 4])
def test_the_statement_page_reads_in_a_fixed_number_of_queries(
    world, extra_deals, django_assert_num_queries
):
    setup_plan(world)
    for n in range(extra_deals):
        won(world, "1000.00", dt.date(2027, 1, 2 + n))
    won(world, "60000.00", dt.date(2027, 1, 20))
    approve_and_publish(world, run_period(world))
    statement = Statement.objects.get(membership=world.rep1)
    services.dispute_open(world.tenant, statement=statement, actor=world.rep1, reason="why")
    page = client_for(world.rep1.user)
    page.get(f"/alpha/incentives/statements/{statement.pk}/")
    with django_assert_num_queries(STATEMENT_PAGE):
        response = page.get(f"/alpha/incentives/statements/{statement.pk}/")
    assert [d.reason for d in response.context["statement_disputes"]] == ["why"]


def test_the_run_page_with_a_request_reads_in_a_fixed_number_of_queries(
    world, django_assert_num_queries
):
    run = _preview(world)
    services.approval_request(world.tenant, actor=world.admin, run=run)
    page = client_for(world.finance.user)
    page.get(f"/alpha/incentives/runs/{run.pk}/")
    with django_assert_num_queries(RUN_PAGE):
        response = page.get(f"/alpha/incentives/runs/{run.pk}/")
    assert 'data-testid="approve"' in response.content.decode()


# The layout (session, user, membership, nav, locale, unread notifications)
# takes about a dozen of each.
APPROVALS_PAGE = 16
DISPUTE_QUEUE = 15
STATEMENT_PAGE = 19
RUN_PAGE = 19
