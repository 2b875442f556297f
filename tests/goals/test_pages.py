"""Goals pages per role, with the other tenant's ids, and the grid's query count."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from goals.models import Goal, ObjectiveScore, Quota
from spm.models import Role
from spm.services import membership_add, team_create
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.goals.factories import (
    GoalFactory,
    QuotaFactory,
    period,
    rep1_objective,
)

pytestmark = pytest.mark.django_db


def url(name, world, **kwargs):
    return reverse(f"goals:{name}", kwargs={"tenant_slug": world.tenant.slug, **kwargs})


@pytest.mark.parametrize(
    ("page", "allowed"),
    [
        ("home", {"admin", "manager", "rep", "finance"}),
        ("quota-grid", {"admin", "manager", "finance"}),
        ("quota-export", {"admin", "manager", "finance"}),
        ("quota-import", {"admin", "manager"}),
        ("goal-list", {"admin", "manager", "rep", "finance"}),
        ("goal-add", {"admin", "manager", "rep", "finance"}),
        ("alignment", {"admin", "manager", "rep", "finance"}),
        ("objective-list", {"admin", "manager", "rep", "finance"}),
    ],
)
def test_pages_answer_by_role(world_a, page, allowed):
    for role, member in world_a.members().items():
        response = client_for(member.user).get(url(page, world_a) + "?year=2027")
        assert response.status_code == (200 if role in allowed else 403), (page, role)


def test_a_rep_gets_403_on_the_quota_grid_with_the_roles_named(world_a):
    response = client_for(world_a.rep1.user).get(url("quota-grid", world_a))
    assert response.status_code == 403
    assert (
        "This page needs one of these roles: admin, finance, manager." in response.content.decode()
    )


def test_the_grid_does_not_query_per_cell_or_per_member(world_a, django_assert_num_queries):
    t = world_a.tenant
    client = client_for(world_a.manager.user)
    path = url("quota-grid", world_a) + "?year=2027&view=month"
    # 25 the first time: the tenant's SSO requirement is read once, then cached.
    with django_assert_num_queries(25):
        small = client.get(path)
    with tenant_context(t):
        for n in range(6):
            rep = membership_add(
                t,
                email=f"extra{n}@alpha.test",
                first_name="Extra",
                last_name=str(n),
                role=Role.REP,
                team=world_a.other_team,
                start_date=dt.date(2026, 1, 1),
            )
            for month in range(1, 13):
                QuotaFactory(
                    tenant=t,
                    actor=world_a.admin,
                    period=period(t, "month", 2027, month),
                    membership=rep,
                    amount=Decimal("1000.00"),
                )
    with django_assert_num_queries(25):
        big = client.get(path)
    assert (small.status_code, big.status_code) == (200, 200)
    assert big.context["grid"].grand_total == Decimal("72000.00")


def test_grid_shows_only_the_managers_subtree(world_a):
    response = client_for(world_a.other_manager.user).get(url("quota-grid", world_a) + "?year=2027")
    grid = response.context["grid"]
    assert [s.team.name for s in grid.sections] == ["East"]
    assert [r.label for s in grid.sections for r in s.member_rows] == ["Otto Three"]


def test_cell_edit_saves_and_returns_totals(world_a):
    with tenant_context(world_a.tenant):
        jan = period(world_a.tenant, "month", 2027, 1)
    response = client_for(world_a.manager.user).post(
        url("quota-cell", world_a),
        {
            "subject": f"m{world_a.rep1.pk}",
            "period": jan.pk,
            "measure": "bookings",
            "amount": "12,500",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="c-m{world_a.rep1.pk}-{jan.pk}"' in html
    assert 'value="12,500.00"' in html
    assert (
        '<td class="num total" id="grand-total" data-testid="grand-total" '
        'hx-swap-oob="true">$12,500.00</td>' in html
    )
    with tenant_context(world_a.tenant):
        assert Quota.objects.get().amount == Decimal("12500.00")


def test_cell_edit_refused_shows_the_message_beside_the_cell(world_a):
    with tenant_context(world_a.tenant):
        jan = period(world_a.tenant, "month", 2027, 1)
    response = client_for(world_a.manager.user).post(
        url("quota-cell", world_a),
        {
            "subject": f"m{world_a.rep1.pk}",
            "period": jan.pk,
            "measure": "bookings",
            "amount": "abc",
        },
    )
    html = response.content.decode()
    assert (
        f'<p class="cell-error" role="alert" id="e-m{world_a.rep1.pk}-{jan.pk}">'
        "&#x27;abc&#x27; is not a number; enter an amount like 90000.00.</p>" in html
    )
    assert "hx-swap-oob" not in html
    with tenant_context(world_a.tenant):
        assert Quota.objects.count() == 0


def test_cell_edit_of_another_tenants_or_out_of_scope_subject_is_404(world_a, world_b):
    with tenant_context(world_a.tenant):
        jan = period(world_a.tenant, "month", 2027, 1)
    with tenant_context(world_b.tenant):
        b_jan = period(world_b.tenant, "month", 2027, 1)
    client = client_for(world_a.other_manager.user)
    for subject, period_id in (
        (f"m{world_b.rep1.pk}", jan.pk),
        (f"m{world_a.other_rep.pk}", b_jan.pk),
        (f"m{world_a.rep1.pk}", jan.pk),
        (f"t{world_b.team.pk}", jan.pk),
    ):
        response = client.post(
            url("quota-cell", world_a),
            {"subject": subject, "period": period_id, "measure": "bookings", "amount": "1"},
        )
        assert response.status_code == 404, subject
    for world in (world_a, world_b):
        with tenant_context(world.tenant):
            assert Quota.objects.count() == 0


def test_allocate_dialog_of_another_tenants_team_is_404(world_a, world_b):
    client = client_for(world_a.admin.user)
    assert (
        client.get(url("quota-allocate", world_a) + f"?team={world_b.team.pk}").status_code == 404
    )
    assert client.post(url("quota-allocate", world_a), {"team": world_b.team.pk}).status_code == 404
    assert client.get(url("quota-spread", world_a) + f"?team={world_b.team.pk}").status_code == 404


def test_allocate_through_the_page(world_a):
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", 2027, 1)
    response = client_for(world_a.manager.user).post(
        url("quota-allocate", world_a) + "?year=2027&view=quarter",
        {
            "team": world_a.team.pk,
            "period": q1.pk,
            "amount": "100000",
            "method": "equal",
            "unit": "1",
            "factor": "1.00",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/alpha/goals/quotas/?year=2027&view=quarter&measure=bookings"
    with tenant_context(world_a.tenant):
        assert sorted(
            Quota.objects.filter(membership__isnull=False).values_list("amount", flat=True)
        ) == [Decimal("50000.00"), Decimal("50000.00")]


def test_csv_export_and_import_round_trip(world_a):
    client = client_for(world_a.manager.user)
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", 2027, 1)
        QuotaFactory(
            tenant=world_a.tenant,
            actor=world_a.admin,
            period=q1,
            membership=world_a.rep1,
            amount=Decimal("90000.00"),
        )
    exported = client.get(url("quota-export", world_a) + "?year=2027&view=quarter").content.decode()
    lines = exported.splitlines()
    assert lines[0] == "key,name,team,FY2027 Q1,FY2027 Q2,FY2027 Q3,FY2027 Q4,total"
    assert f"m{world_a.rep1.pk},Ray One,West,90000.00,,,,90000.00" in lines
    changed = exported.replace(
        f"m{world_a.rep1.pk},Ray One,West,90000.00,,,",
        f"m{world_a.rep1.pk},Ray One,West,95000.00,100000,,",
    )
    upload = SimpleUploadedFile("grid.csv", changed.encode(), content_type="text/csv")
    response = client.post(
        url("quota-import", world_a) + "?year=2027&view=quarter", {"file": upload}
    )
    assert response.status_code == 302
    with tenant_context(world_a.tenant):
        assert sorted(Quota.objects.values_list("period__number", "amount", "source")) == [
            (1, Decimal("95000.00"), "imported"),
            (2, Decimal("100000.00"), "imported"),
        ]


def test_csv_import_errors_name_line_and_column_and_save_nothing(world_a):
    text = (
        f"key,name,team,FY2027 Q1,FY2027 Q2\nm{world_a.rep1.pk},Ray One,West,abc,-5\n"
        "m999999,Ghost,West,1,\n"
    )
    response = client_for(world_a.manager.user).post(
        url("quota-import", world_a) + "?year=2027&view=quarter",
        {"file": SimpleUploadedFile("grid.csv", text.encode())},
    )
    assert response.context["import_errors"] == [
        "Line 2, FY2027 Q1: 'abc' is not a number.",
        "Line 2, FY2027 Q2: a quota cannot be negative.",
        "Line 3: 'm999999' is not a team or rep of this grid.",
    ]
    with tenant_context(world_a.tenant):
        assert Quota.objects.count() == 0


def test_quota_history_page_is_404_for_another_reps_quota(world_a):
    with tenant_context(world_a.tenant):
        quota = QuotaFactory(
            tenant=world_a.tenant,
            actor=world_a.admin,
            period=period(world_a.tenant, "quarter", 2027, 1),
            membership=world_a.rep2,
        )
    assert (
        client_for(world_a.rep1.user).get(url("quota-history", world_a, pk=quota.pk)).status_code
        == 404
    )
    own = client_for(world_a.rep2.user).get(url("quota-history", world_a, pk=quota.pk))
    assert own.status_code == 200
    assert [c.new_amount for c in own.context["changes"]] == [Decimal("90000.00")]


def test_goal_pages_hide_other_tenants_and_other_reps_goals(world_a, world_b):
    with tenant_context(world_a.tenant):
        company = GoalFactory(tenant=world_a.tenant, actor=world_a.admin)
        rep2_goal = GoalFactory(
            tenant=world_a.tenant,
            actor=world_a.rep2,
            level="member",
            owner_membership=world_a.rep2,
            parent=company,
            title="Book ten demos this quarter",
        )
    with tenant_context(world_b.tenant):
        b_goal = GoalFactory(tenant=world_b.tenant, actor=world_b.admin)
    rep1 = client_for(world_a.rep1.user)
    for name in ("goal-detail", "goal-edit"):
        assert rep1.get(url(name, world_a, pk=rep2_goal.pk)).status_code == 404
        assert rep1.get(url(name, world_a, pk=b_goal.pk)).status_code == 404
    assert (
        rep1.post(url("goal-action", world_a, pk=rep2_goal.pk), {"action": "delete"}).status_code
        == 404
    )
    listed = rep1.get(url("goal-list", world_a))
    assert [g.pk for g in listed.context["goals"]] == [company.pk]
    with tenant_context(world_a.tenant):
        assert Goal.objects.filter(pk=rep2_goal.pk).exists()


def test_the_goal_form_refuses_a_vague_goal_naming_each_property(world_a):
    response = client_for(world_a.rep1.user).post(
        url("goal-add", world_a),
        {
            "level": "member",
            "owner_membership": world_a.rep1.pk,
            "title": "More",
            "metric": "",
            "target_value": "",
            "rationale": "",
            "start_date": "",
            "due_date": "",
        },
    )
    form = response.context["form"]
    assert form.smart_summary == (
        "This goal is not SMART yet. Missing or weak: Specific, Measurable, Relevant, Time-bound."
    )
    assert {name: errors[0].split(":")[0] for name, errors in form.errors.items()} == {
        "title": "Specific",
        "metric": "Measurable",
        "target_value": "Measurable",
        "rationale": "Relevant",
        "parent": "Relevant",
        "start_date": "Time-bound",
        "due_date": "Time-bound",
    }
    with tenant_context(world_a.tenant):
        assert Goal.objects.count() == 0


def test_manager_approves_from_the_page_and_rep_checks_in(world_a):
    with tenant_context(world_a.tenant):
        company = GoalFactory(tenant=world_a.tenant, actor=world_a.admin)
        goal = GoalFactory(
            tenant=world_a.tenant,
            actor=world_a.rep1,
            level="member",
            owner_membership=world_a.rep1,
            parent=company,
            metric="manual",
            title="Book 20 discovery calls a month",
            target_value=Decimal("20"),
            submit=True,
        )
    assert (
        client_for(world_a.rep1.user)
        .post(url("goal-action", world_a, pk=goal.pk), {"action": "approve"})
        .status_code
        == 403
    )
    client_for(world_a.manager.user).post(
        url("goal-action", world_a, pk=goal.pk), {"action": "approve"}
    )
    client_for(world_a.rep1.user).post(
        url("goal-checkin", world_a, pk=goal.pk),
        {"checked_on": "2027-02-10", "value": "10", "comment": "Halfway"},
    )
    with tenant_context(world_a.tenant):
        goal.refresh_from_db()
    assert (goal.status, goal.progress_percent) == ("approved", 50)


def test_objective_set_page_scopes_members_and_locks_reps_out(world_a, world_b):
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", 2027, 1)
        objective = rep1_objective(
            world_a,
            period=q1,
            weight=Decimal("1"),
        )
    set_url = url("objective-set", world_a)
    rep2 = client_for(world_a.rep2.user)
    assert rep2.get(set_url, {"member": world_a.rep1.pk, "period": q1.pk}).status_code == 404
    assert (
        client_for(world_a.admin.user)
        .get(set_url, {"member": world_b.rep1.pk, "period": q1.pk})
        .status_code
        == 404
    )
    rep1 = client_for(world_a.rep1.user)
    assert rep1.get(set_url, {"member": world_a.rep1.pk, "period": q1.pk}).status_code == 200
    denied = rep1.post(
        set_url + f"?member={world_a.rep1.pk}&period={q1.pk}",
        {
            "member": world_a.rep1.pk,
            "period": q1.pk,
            "action": "scores",
            "score-TOTAL_FORMS": "1",
            "score-INITIAL_FORMS": "1",
            "score-0-objective_id": objective.pk,
            "score-0-score_percent": "100",
        },
    )
    assert denied.status_code == 403
    with tenant_context(world_a.tenant):
        assert ObjectiveScore.objects.count() == 0
    services_ok = client_for(world_a.manager.user).post(
        set_url,
        {
            "member": world_a.rep1.pk,
            "period": q1.pk,
            "action": "scores",
            "score-TOTAL_FORMS": "1",
            "score-INITIAL_FORMS": "1",
            "score-0-objective_id": objective.pk,
            "score-0-score_percent": "80",
        },
    )
    assert services_ok.status_code == 302
    with tenant_context(world_a.tenant):
        assert ObjectiveScore.objects.get().score == Decimal("0.800000")


def test_objective_page_records_140_percent_and_shows_it_counting_120(world_a):
    # given: an objective of 100% weight capped at 120%
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", 2027, 1)
        objective = rep1_objective(
            world_a, period=q1, weight=Decimal("1"), score_cap=Decimal("1.2")
        )
    set_url = url("objective-set", world_a)
    manager = client_for(world_a.manager.user)

    # when: the manager enters 140 on the page
    saved = manager.post(
        set_url,
        {
            "member": world_a.rep1.pk,
            "period": q1.pk,
            "action": "scores",
            "score-TOTAL_FORMS": "1",
            "score-INITIAL_FORMS": "1",
            "score-0-objective_id": objective.pk,
            "score-0-score_percent": "140",
        },
    )

    # then: 140% is stored; the rep's page shows 140%, counting 120% (the cap)
    assert saved.status_code == 302
    with tenant_context(world_a.tenant):
        assert ObjectiveScore.objects.get().score == Decimal("1.400000")
    page = client_for(world_a.rep1.user).get(set_url, {"member": world_a.rep1.pk, "period": q1.pk})
    html = page.content.decode()
    counted = re.search(r'data-testid="counted-score">(.*?)</td>', html).group(1)
    mbo = re.search(r'data-testid="mbo-score">(.*?)</span>', html).group(1)
    assert (counted, mbo) == ('120.00% <span class="muted">(120.00%)</span>', "120.00%")
    assert '<td class="num">140.00%</td>' in html


def test_the_grid_pages_its_teams_and_totals_the_whole_grid(world_a):
    t = world_a.tenant
    with tenant_context(t):
        # Root, West and East, and ten more teams of one rep with a 1,000.00 year quota.
        for n in range(10):
            team = team_create(t, name=f"Team {n:02}", parent=world_a.root_team)
            rep = membership_add(
                t,
                email=f"paged{n}@alpha.test",
                first_name="Paged",
                last_name=f"{n:02}",
                role=Role.REP,
                team=team,
                start_date=dt.date(2026, 1, 1),
            )
            QuotaFactory(
                tenant=t,
                actor=world_a.admin,
                period=period(t, "year", 2027),
                membership=rep,
                amount=Decimal("1000.00"),
            )
    client = client_for(world_a.admin.user)
    first = client.get(url("quota-grid", world_a) + "?year=2027")
    second = client.get(url("quota-grid", world_a) + "?year=2027&page=2")
    shown = [[s.team.name for s in r.context["teams"]] for r in (first, second)]
    assert [len(teams) for teams in shown] == [10, 3]
    everyone = [s.team.name for s in first.context["grid"].sections]
    assert sorted(shown[0] + shown[1]) == sorted(everyone)
    html = second.content.decode()
    assert "Teams 11-13 of 13, page 2 of 2" in html
    pager = re.search(r'<nav class="pager".*?</nav>', html, re.S)
    assert pager, html
    previous = 'href="?year=2027&amp;view=quarter&amp;measure=bookings&amp;page=1">← Previous'
    assert previous in pager[0], pager[0]
    # The totals row is the whole grid's on every page: ten reps of 1,000.00.
    assert first.context["grid"].grand_total == second.context["grid"].grand_total
    assert second.context["grid"].grand_total == Decimal("10000.00")
    assert "all 13 teams" in html
    # A dialog opened from page 2 returns to page 2.
    allocate = client.get(
        url("quota-allocate", world_a)
        + f"?team={world_a.team.pk}&year=2027&view=quarter&measure=bookings&page=2"
    )
    assert "&amp;page=2" in allocate.content.decode()
