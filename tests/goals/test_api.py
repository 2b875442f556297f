"""The goals API per role, with the other tenant's ids, and pinned query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from goals import services
from goals.models import Goal, Objective, ObjectiveScore, Quota
from spm import services as core_services
from spm.tenancy.context import tenant_context
from tests.conftest import api_client_for, if_match
from tests.goals.factories import GoalFactory, ObjectiveFactory, QuotaFactory, period

pytestmark = pytest.mark.django_db


def api(world, path):
    return f"/api/v1/{world.tenant.slug}/{path}"


@pytest.fixture
def quotas(world_a, world_b):
    """Q1 2027 quotas in both tenants: rep1, rep2, other_rep and team West."""
    made = {}
    for world in (world_a, world_b):
        with tenant_context(world.tenant):
            q1 = period(world.tenant, "quarter", 2027, 1)
            made[world.tenant.slug] = {
                name: QuotaFactory(tenant=world.tenant, actor=world.admin, period=q1, **subject)
                for name, subject in {
                    "rep1": {"membership": world.rep1},
                    "rep2": {"membership": world.rep2},
                    "other_rep": {"membership": world.other_rep},
                    "west": {"team": world.team, "amount": Decimal("300000.00")},
                }.items()
            }
    return made


def _ids(response):
    return sorted(row["id"] for row in response.json()["results"])


def test_quota_list_is_scoped_by_role(world_a, quotas, django_assert_max_num_queries):
    a = quotas["alpha"]
    expected = {
        "admin": sorted(q.pk for q in a.values()),
        "finance": sorted(q.pk for q in a.values()),
        # The manager manages Sales, the root team, so their subtree is the whole org.
        "manager": sorted(q.pk for q in a.values()),
        "other_manager": [a["other_rep"].pk],
        "rep": [a["rep1"].pk],
    }
    members = {**world_a.members(), "other_manager": world_a.other_manager}
    for role, member in members.items():
        with django_assert_max_num_queries(12):
            response = api_client_for(member.user).get(api(world_a, "quotas/"))
        assert response.status_code == 200
        assert _ids(response) == expected[role], role


def test_quota_list_query_count_does_not_grow_with_rows(world_a, quotas, django_assert_num_queries):
    client = api_client_for(world_a.admin.user)
    with django_assert_num_queries(9):
        small = client.get(api(world_a, "quotas/"))
    with tenant_context(world_a.tenant):
        for number in range(1, 13):
            QuotaFactory(
                tenant=world_a.tenant,
                actor=world_a.admin,
                period=period(world_a.tenant, "month", 2027, number),
                membership=world_a.rep1,
                amount=Decimal("1000.00"),
            )
    with django_assert_num_queries(9):
        big = client.get(api(world_a, "quotas/"))
    assert (small.json()["count"], big.json()["count"]) == (4, 16)


def test_quota_detail_shows_proration_and_money_as_strings(world_a, quotas):
    quota = quotas["alpha"]["rep2"]
    response = api_client_for(world_a.manager.user).get(api(world_a, f"quotas/{quota.pk}/"))
    assert response.status_code == 200
    body = response.json()
    assert (body["amount"], body["prorated_amount"], body["period_label"], body["membership"]) == (
        "90000.00",
        "50000.00",
        "FY2027 Q1",
        world_a.rep2.pk,
    )


def test_a_rep_cannot_see_another_reps_quota(world_a, quotas):
    other = quotas["alpha"]["rep2"]
    response = api_client_for(world_a.rep1.user).get(api(world_a, f"quotas/{other.pk}/"))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_other_tenants_quota_ids_are_404(world_a, quotas):
    b_quota = quotas["beta"]["rep1"]
    client = api_client_for(world_a.admin.user)
    assert client.get(api(world_a, f"quotas/{b_quota.pk}/")).status_code == 404
    response = client.patch(
        api(world_a, f"quotas/{b_quota.pk}/"), {"amount": "1.00"}, format="json"
    )
    assert response.status_code == 404
    with tenant_context(b_quota.tenant):
        assert Quota.objects.get(pk=b_quota.pk).amount == Decimal("90000.00")


def test_creating_a_quota_for_another_tenants_member_is_refused(world_a, world_b):
    with tenant_context(world_a.tenant):
        jan = period(world_a.tenant, "month", 2027, 1)
    response = api_client_for(world_a.admin.user).post(
        api(world_a, "quotas/"),
        {"period": jan.pk, "membership": world_b.rep1.pk, "amount": "10.00"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "membership",
            "message": f'Invalid pk "{world_b.rep1.pk}" - object does not exist.',
        }
    ]


def test_manager_sets_a_quota_and_the_history_records_it(world_a):
    client = api_client_for(world_a.manager.user)
    with tenant_context(world_a.tenant):
        jan = period(world_a.tenant, "month", 2027, 1)
    created = client.post(
        api(world_a, "quotas/"),
        {"period": jan.pk, "membership": world_a.rep1.pk, "amount": "30000.00"},
        format="json",
    )
    assert created.status_code == 201
    assert (created.json()["amount"], created.json()["source"]) == ("30000.00", "api")
    pk = created.json()["id"]
    quota_url = api(world_a, f"quotas/{pk}/")
    changed = client.patch(
        quota_url, {"amount": "32000.50"}, format="json", **if_match(client, quota_url)
    )
    assert changed.json()["amount"] == "32000.50"
    history = client.get(api(world_a, f"quotas/{pk}/history/")).json()
    assert [(h["old_amount"], h["new_amount"], h["changed_by"]) for h in history] == [
        ("30000.00", "32000.50", "manager@alpha.test"),
        (None, "30000.00", "manager@alpha.test"),
    ]


def test_reps_and_finance_cannot_write_quotas(world_a, quotas):
    quota = quotas["alpha"]["rep1"]
    for member in (world_a.rep1, world_a.finance):
        response = api_client_for(member.user).patch(
            api(world_a, f"quotas/{quota.pk}/"), {"amount": "1.00"}, format="json"
        )
        assert response.status_code == 403
        assert response.json()["detail"] == "This action needs one of these roles: admin, manager."
    with tenant_context(world_a.tenant):
        assert Quota.objects.get(pk=quota.pk).amount == Decimal("90000.00")


def test_closed_period_quota_change_is_a_409_problem_naming_the_field(world_a, quotas):
    quota = quotas["alpha"]["rep1"]
    with tenant_context(world_a.tenant):
        core_services.period_close(world_a.tenant, period=quota.period, actor=world_a.admin.user)
    client = api_client_for(world_a.admin.user)
    quota_url = api(world_a, f"quotas/{quota.pk}/")
    response = client.patch(
        quota_url, {"amount": "1.00"}, format="json", **if_match(client, quota_url)
    )
    # A conflict with the period's state, like every write into a closed period.
    assert (response.status_code, response["Content-Type"]) == (409, "application/problem+json")
    assert response.json()["title"] == "Period closed"
    assert response.json()["errors"] == [
        {"field": "period", "message": "FY2027 Q1 is closed; its quotas cannot be changed."}
    ]
    bulk = client.post(
        api(world_a, "quotas/bulk/"),
        {"rows": [{"period": quota.period_id, "membership": world_a.rep1.pk, "amount": "2.00"}]},
        format="json",
    )
    assert (bulk.status_code, bulk["Content-Type"]) == (409, "application/problem+json")
    assert bulk.json()["errors"] == [
        {
            "field": "rows[0].period",
            "message": "FY2027 Q1 is closed; its quotas cannot be changed.",
        }
    ]
    with tenant_context(world_a.tenant):
        assert Quota.objects.get(pk=quota.pk).amount == quota.amount


def test_bulk_upsert_names_the_row_and_writes_nothing_on_error(world_a):
    with tenant_context(world_a.tenant):
        jan, feb = (period(world_a.tenant, "month", 2027, n) for n in (1, 2))
    client = api_client_for(world_a.other_manager.user)
    rows = [
        {"period": jan.pk, "membership": world_a.other_rep.pk, "amount": "1000.00"},
        {"period": feb.pk, "membership": world_a.rep1.pk, "amount": "2000.00"},
    ]
    refused = client.post(api(world_a, "quotas/bulk/"), {"rows": rows}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "rows[1].membership", "message": "You cannot set quotas for this member."}
    ]
    rows[1]["membership"] = world_a.other_rep.pk
    rows.append({"period": feb.pk, "team": world_a.other_team.pk, "amount": "5000.00"})
    done = client.post(api(world_a, "quotas/bulk/"), {"rows": rows}, format="json")
    assert done.status_code == 200
    assert [r["amount"] for r in done.json()] == ["1000.00", "2000.00", "5000.00"]
    again = client.post(api(world_a, "quotas/bulk/"), {"rows": rows}, format="json")
    assert [r["id"] for r in again.json()] == [r["id"] for r in done.json()]


def test_allocate_through_the_api_reproduces_formulas(world_a):
    with tenant_context(world_a.tenant):
        rep3 = core_services.membership_add(
            world_a.tenant,
            email="rep9@alpha.test",
            first_name="Cy",
            last_name="Zulu",
            role="rep",
            team=world_a.team,
            start_date=dt.date(2026, 1, 1),
        )
        q2 = period(world_a.tenant, "quarter", 2027, 2)
    response = api_client_for(world_a.manager.user).post(
        api(world_a, "quotas/allocate/"),
        {
            "team": world_a.team.pk,
            "period": q2.pk,
            "amount": "1000000",
            "method": "manual",
            "unit": "1000",
            "weights": {
                f"m{world_a.rep1.pk}": "410000",
                f"m{world_a.rep2.pk}": "290000",
                f"m{rep3.pk}": "200000",
            },
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert [(p["label"], p["amount"]) for p in body["parts"]] == [
        ("Ray One", "456000.00"),
        ("Rita Two", "322000.00"),
        ("Cy Zulu", "222000.00"),
    ]
    assert (body["allocated_total"], body["team_quota"]["amount"]) == ("1000000.00", "1000000.00")


def test_spread_through_the_api(world_a, quotas):
    quota = quotas["alpha"]["rep1"]
    response = api_client_for(world_a.admin.user).post(
        api(world_a, "quotas/spread/"),
        {"period": quota.period_id, "members": [world_a.rep1.pk]},
        format="json",
    )
    assert response.status_code == 200
    assert [(r["period_label"], r["amount"]) for r in response.json()] == [
        ("Jan 2027", "30000.00"),
        ("Feb 2027", "30000.00"),
        ("Mar 2027", "30000.00"),
    ]


def test_seasonality_profiles_crud(world_a):
    client = api_client_for(world_a.manager.user)
    created = client.post(
        api(world_a, "seasonality-profiles/"),
        {"name": "Q4 heavy", "weights": ["1"] * 9 + ["2", "2", "3"]},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["weights"] == ["1.000000"] * 9 + ["2.000000", "2.000000", "3.000000"]
    short = client.post(
        api(world_a, "seasonality-profiles/"), {"name": "Bad", "weights": ["1"]}, format="json"
    )
    assert short.json()["errors"] == [
        {"field": "weights", "message": "Ensure this field has at least 12 elements."}
    ]
    rep = api_client_for(world_a.rep1.user)
    assert (
        rep.delete(api(world_a, f"seasonality-profiles/{created.json()['id']}/")).status_code == 403
    )
    assert (
        client.delete(api(world_a, f"seasonality-profiles/{created.json()['id']}/")).status_code
        == 204
    )


def test_a_vague_goal_is_refused_by_the_api_naming_each_property(world_a):
    response = api_client_for(world_a.rep1.user).post(
        api(world_a, "goals/"),
        {
            "level": "member",
            "owner_membership": world_a.rep1.pk,
            "title": "Do better",
            "metric": "manual",
            "target_value": "",
            "rationale": "",
            "start_date": None,
            "due_date": "2027-06-30",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "title",
            "message": "Specific: 'Do better' is too vague; say what will be achieved "
            "in at least 3 words (for example 'Win 5 new healthcare accounts').",
        },
        {
            "field": "target_value",
            "message": "Measurable: there is no target; give the value to reach.",
        },
        {"field": "rationale", "message": "Relevant: say why this goal matters."},
        {
            "field": "parent",
            "message": "Relevant: choose the higher goal this one supports "
            "(goals cascade company -> team -> member).",
        },
        {"field": "start_date", "message": "Time-bound: there is no start date."},
        {
            "field": "smart",
            "message": "This goal is not SMART yet. Missing or weak: Specific, "
            "Measurable, Relevant, Time-bound.",
        },
    ]
    with tenant_context(world_a.tenant):
        assert Goal.objects.count() == 0


def test_goal_flow_through_the_api(world_a, world_b):
    with tenant_context(world_a.tenant):
        company = services.goal_approve(
            world_a.tenant,
            actor=world_a.admin,
            goal=GoalFactory(tenant=world_a.tenant, actor=world_a.admin),
        )
    with tenant_context(world_b.tenant):
        b_goal = GoalFactory(tenant=world_b.tenant, actor=world_b.admin)
    rep = api_client_for(world_a.rep1.user)
    payload = {
        "level": "member",
        "owner_membership": world_a.rep1.pk,
        "title": "Book 20 discovery calls a month",
        "metric": "manual",
        "unit": "calls",
        "target_value": "20",
        "rationale": "Discovery calls feed the Q2 pipeline",
        "parent": company.pk,
        "start_date": "2027-01-01",
        "due_date": "2027-03-31",
        "submit": True,
    }
    foreign_parent = rep.post(
        api(world_a, "goals/"), {**payload, "parent": b_goal.pk}, format="json"
    )
    assert foreign_parent.json()["errors"] == [
        {"field": "parent", "message": f'Invalid pk "{b_goal.pk}" - object does not exist.'}
    ]
    created = rep.post(api(world_a, "goals/"), payload, format="json")
    assert created.status_code == 201
    goal_id = created.json()["id"]
    assert created.json()["status"] == "proposed"
    assert rep.post(api(world_a, f"goals/{goal_id}/approve/")).status_code == 403
    manager = api_client_for(world_a.manager.user)
    approved = manager.post(api(world_a, f"goals/{goal_id}/approve/"))
    assert (approved.json()["status"], approved.json()["approved_by"]) == (
        "approved",
        world_a.manager.pk,
    )
    checkin = rep.post(
        api(world_a, "goal-checkins/"),
        {"goal": goal_id, "value": "15", "comment": "Picking up", "checked_on": "2027-02-14"},
        format="json",
    )
    assert checkin.status_code == 201
    goal = rep.get(api(world_a, f"goals/{goal_id}/")).json()
    assert (goal["progress_value"], goal["progress"]) == ("15.0000", "0.7500")
    assert (
        api_client_for(world_a.rep2.user).get(api(world_a, f"goals/{goal_id}/")).status_code == 404
    )
    assert rep.get(api(world_a, f"goals/{b_goal.pk}/")).status_code == 404


def test_objectives_scores_and_summary_reproduce_formulas(
    world_a, world_b, django_assert_max_num_queries
):
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", 2027, 1)
    manager = api_client_for(world_a.manager.user)
    ids = []
    for title, weight in (
        ("Launch the partner channel", "0.40"),
        ("Certify on the product", "0.35"),
        ("Clean up the CRM", "0.25"),
    ):
        response = manager.post(
            api(world_a, "objectives/"),
            {
                "membership": world_a.rep1.pk,
                "period": q1.pk,
                "title": title,
                "weight": weight,
            },
            format="json",
        )
        assert response.status_code == 201
        ids.append(response.json()["id"])
    for pk, score in zip(ids, ("1.00", "0.80", "0.50"), strict=True):
        assert (
            manager.post(
                api(world_a, "objective-scores/"), {"objective": pk, "score": score}, format="json"
            ).status_code
            == 201
        )
    rep = api_client_for(world_a.rep1.user)
    with django_assert_max_num_queries(10):
        summary = rep.get(api(world_a, "objectives/summary/"), {"period": q1.pk})
    assert summary.json() == [
        {
            "membership": world_a.rep1.pk,
            "member_name": "Ray One",
            "period": q1.pk,
            "period_label": "FY2027 Q1",
            "objectives": ids,
            "weight_total": "1.000000",
            "score": "0.805000",
        }
    ]
    assert (
        rep.post(
            api(world_a, "objective-scores/"), {"objective": ids[0], "score": "1"}, format="json"
        ).status_code
        == 403
    )
    assert (
        api_client_for(world_a.rep2.user).get(api(world_a, f"objectives/{ids[0]}/")).status_code
        == 404
    )
    with tenant_context(world_b.tenant):
        b_obj = ObjectiveFactory(
            tenant=world_b.tenant,
            actor=world_b.admin,
            membership=world_b.rep1,
            period=period(world_b.tenant, "quarter", 2027, 1),
            weight=Decimal("1"),
        )
    foreign = manager.post(
        api(world_a, "objective-scores/"), {"objective": b_obj.pk, "score": "1"}, format="json"
    )
    assert foreign.status_code == 400
    with tenant_context(world_b.tenant):
        assert ObjectiveScore.objects.count() == 0
        assert Objective.objects.count() == 1


def test_an_objective_scored_above_its_cap_keeps_the_measure_and_counts_the_cap(world_a):
    # given: one objective weighing 100% with a 120% cap
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", 2027, 1)
    manager = api_client_for(world_a.manager.user)
    objective = manager.post(
        api(world_a, "objectives/"),
        {
            "membership": world_a.rep1.pk,
            "period": q1.pk,
            "title": "Open the partner channel",
            "weight": "1",
            "score_cap": "1.2",
        },
    ).json()

    # when: it is scored 140%
    scored = manager.post(
        api(world_a, "objective-scores/"), {"objective": objective["id"], "score": "1.40"}
    )

    # then: the score is 140% as measured, 120% counts, both shown; the set scores 1.2
    assert scored.status_code == 201, scored.json()
    assert (scored.json()["score"], scored.json()["counted_score"]) == ("1.400000", "1.200000")
    listed = manager.get(api(world_a, "objective-scores/")).json()["results"]
    assert [(r["score"], r["counted_score"]) for r in listed] == [("1.400000", "1.200000")]
    summary = manager.get(api(world_a, "objectives/summary/"), {"period": q1.pk}).json()
    assert summary[0]["score"] == "1.200000"
