"""Core pages per role: who may open what, what they see, and query counts."""

import pytest
from django.urls import reverse

from spm.models import Membership, Role, Team
from spm.tenancy.context import tenant_context
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def url(name, world, **kwargs):
    return reverse(name, kwargs={"tenant_slug": world.tenant.slug, **kwargs})


def test_anonymous_users_are_sent_to_login(world_a, client):
    response = client.get(url("tenant-home", world_a))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/alpha/"


def test_unknown_tenant_is_404(world_a):
    response = client_for(world_a.admin.user).get("/no-such-tenant/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("page", "allowed"),
    [
        ("tenant-home", {"admin", "manager", "rep", "finance"}),
        ("team-list", {"admin", "manager", "rep", "finance"}),
        ("period-list", {"admin", "manager", "rep", "finance"}),
        ("people-list", {"admin", "manager", "finance"}),
        ("member-add", {"admin"}),
        ("team-add", {"admin"}),
        ("tenant-settings", {"admin"}),
    ],
)
def test_pages_answer_by_role(world_a, page, allowed):
    statuses = {
        role: client_for(member.user).get(url(page, world_a)).status_code
        for role, member in world_a.members().items()
    }
    assert statuses == {role: 200 if role in allowed else 403 for role in statuses}


def test_forbidden_page_names_the_role_needed(world_a):
    response = client_for(world_a.rep1.user).get(url("tenant-settings", world_a))
    assert response.status_code == 403
    assert "This page needs one of these roles: admin." in response.content.decode()


def test_manager_sees_only_their_subtree_on_people_page(world_a):
    response = client_for(world_a.other_manager.user).get(url("people-list", world_a))
    emails = [m.user.email for m in response.context["members"]]
    assert emails == ["manager2@alpha.test", "rep3@alpha.test"]


def test_people_page_query_count_does_not_grow_with_members(world_a, django_assert_max_num_queries):
    client = client_for(world_a.admin.user)
    client.get(url("people-list", world_a))
    with tenant_context(world_a.tenant):
        for i in range(20):
            Membership.objects.create(
                tenant=world_a.tenant,
                role=Role.REP,
                team=world_a.team,
                user=type(world_a.admin.user).objects.create_user(f"x{i}@alpha.test"),
            )
    with django_assert_max_num_queries(16):
        response = client.get(url("people-list", world_a))
    assert len(response.context["members"]) == 27


def test_team_tree_query_count_is_constant(world_a, django_assert_max_num_queries):
    client = client_for(world_a.rep1.user)
    with tenant_context(world_a.tenant):
        for i in range(10):
            Team.objects.create(tenant=world_a.tenant, name=f"T{i}", path=f"/9{i}/")
    with django_assert_max_num_queries(17):
        response = client.get(url("team-list", world_a))
    assert response.status_code == 200
    assert "managed by Mia Manager" in response.content.decode()


def test_admin_adds_a_member_in_the_browser(world_a):
    client = client_for(world_a.admin.user)
    response = client.post(
        url("member-add", world_a),
        {
            "email": "zed@alpha.test",
            "first_name": "Zed",
            "last_name": "Zulu",
            "role": "rep",
            "title": "AE",
            "team": world_a.team.pk,
            "start_date": "2027-03-01",
        },
    )
    assert response.status_code == 302
    with tenant_context(world_a.tenant):
        member = Membership.objects.select_related("user", "team").get(user__email="zed@alpha.test")
        assert (member.role, member.team, str(member.start_date)) == (
            "rep",
            world_a.team,
            "2027-03-01",
        )


def test_member_form_shows_errors_beside_fields(world_a):
    client = client_for(world_a.admin.user)
    response = client.post(
        url("member-add", world_a),
        {
            "email": "rep1@alpha.test",
            "role": "rep",
            "start_date": "2027-03-01",
            "end_date": "2027-01-01",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"end_date": ["The end date cannot be before the start date."]}


def test_member_form_refuses_a_team_of_another_tenant(world_a, world_b):
    client = client_for(world_a.admin.user)
    response = client.post(
        url("member-add", world_a),
        {
            "email": "new@alpha.test",
            "role": "rep",
            "start_date": "2027-03-01",
            "team": world_b.team.pk,
        },
    )
    assert response.context["form"].errors == {
        "team": ["Select a valid choice. That choice is not one of the available choices."]
    }


def test_admin_moves_a_team_in_the_browser(world_a):
    client = client_for(world_a.admin.user)
    response = client.post(
        url("team-edit", world_a, pk=world_a.team.pk),
        {
            "name": "West Coast",
            "parent": world_a.other_team.pk,
            "manager": world_a.manager.pk,
        },
    )
    assert response.status_code == 302
    with tenant_context(world_a.tenant):
        team = Team.objects.get(pk=world_a.team.pk)
    assert (team.name, team.parent_id, team.depth) == ("West Coast", world_a.other_team.pk, 2)


def test_settings_page_validates_time_zone(world_a):
    client = client_for(world_a.admin.user)
    response = client.post(
        url("tenant-settings", world_a),
        {
            "name": "Alpha Inc",
            "currency": "usd",
            "fiscal_year_start_month": 1,
            "time_zone": "Mars/Base",
            "locale": "xx-XX",
            "stalled_after_days": 0,
            "dispute_window_days": 10,
        },
    )
    assert response.context["form"].errors == {
        "currency": ["Use a three-letter ISO 4217 code, e.g. USD."],
        "time_zone": ["'Mars/Base' is not a known IANA time zone (e.g. Europe/Berlin)."],
        "locale": ["Select a valid choice. xx-XX is not one of the available choices."],
        "stalled_after_days": ["Ensure this value is greater than or equal to 1."],
    }


def test_settings_page_saves_locale_and_stall_days_and_pages_follow_them(world_a):
    client = client_for(world_a.admin.user)
    response = client.post(
        url("tenant-settings", world_a),
        {
            "name": "Alpha Inc",
            "currency": "EUR",
            "fiscal_year_start_month": 1,
            "time_zone": "Europe/Berlin",
            "locale": "de-DE",
            "stalled_after_days": 14,
            "dispute_window_days": 10,
        },
    )
    assert response.status_code == 302
    world_a.tenant.refresh_from_db()
    assert (world_a.tenant.locale, world_a.tenant.stalled_after_days) == ("de-DE", 14)
    people = client.get(url("people-list", world_a)).content.decode()
    start = world_a.rep1.start_date
    assert f'<td class="num">{start:%d.%m.%Y}</td>' in people


def test_landing_redirects_to_the_only_tenant(world_a):
    response = client_for(world_a.rep1.user).get("/")
    assert (response.status_code, response["Location"]) == (302, "/alpha/")


@pytest.mark.parametrize(
    ("page", "label"),
    [("tenant-home", "Home"), ("team-list", "Teams"), ("people-list", "People")],
)
def test_exactly_one_nav_entry_is_active(world_a, page, label):
    response = client_for(world_a.admin.user).get(url(page, world_a))
    assert [item["label"] for item in response.context["nav_items"] if item["active"]] == [label]


def test_the_longest_matching_nav_entry_wins_on_a_detail_page(world_a):
    response = client_for(world_a.admin.user).get(url("member-edit", world_a, pk=world_a.rep1.pk))
    assert [item["label"] for item in response.context["nav_items"] if item["active"]] == ["People"]


def test_people_search_matches_name_or_email(world_a):
    client = client_for(world_a.admin.user)
    response = client.get(url("people-list", world_a), {"q": "rita"})
    assert [m.user.email for m in response.context["members"]] == ["rep2@alpha.test"]
    response = client.get(url("people-list", world_a), {"q": "manager2@"})
    assert [m.user.email for m in response.context["members"]] == ["manager2@alpha.test"]
