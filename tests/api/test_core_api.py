"""The core API: auth, me, members, teams, periods; problem+json errors."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from spm.models import AuditEvent, Membership, Team
from spm.tenancy.context import tenant_context
from tests.conftest import PASSWORD, api_client_for

pytestmark = pytest.mark.django_db


def test_token_auth_round_trip(world_a):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "rep1@alpha.test", "password": PASSWORD}
    )
    token = response.json()["token"]
    assert token == Token.objects.get(user=world_a.rep1.user).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/").json()
    assert me == {
        "id": world_a.rep1.user.pk,
        "email": "rep1@alpha.test",
        "name": "Ray One",
        "tenants": [
            {"slug": "alpha", "name": "Alpha Inc", "role": "rep", "membership_id": world_a.rep1.pk}
        ],
    }
    members = client.get("/api/v1/alpha/members/").json()
    assert [m["email"] for m in members["results"]] == ["rep1@alpha.test"]


def test_unauthenticated_is_401_problem(world_a):
    response = APIClient().get("/api/v1/alpha/members/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
    }


def test_members_listed_by_role_scope(world_a):
    def emails(member):
        body = api_client_for(member.user).get("/api/v1/alpha/members/").json()
        return sorted(m["email"] for m in body["results"])

    everyone = sorted(
        m.user.email
        for m in [
            world_a.admin,
            world_a.finance,
            world_a.manager,
            world_a.rep1,
            world_a.rep2,
            world_a.other_manager,
            world_a.other_rep,
        ]
    )
    assert emails(world_a.admin) == everyone
    assert emails(world_a.finance) == everyone
    assert emails(world_a.manager) == sorted(
        [
            "manager@alpha.test",
            "manager2@alpha.test",
            "rep1@alpha.test",
            "rep2@alpha.test",
            "rep3@alpha.test",
        ]
    )
    assert emails(world_a.other_manager) == ["manager2@alpha.test", "rep3@alpha.test"]
    assert emails(world_a.rep2) == ["rep2@alpha.test"]


def test_rep_gets_404_for_another_reps_membership(world_a):
    response = api_client_for(world_a.rep1.user).get(f"/api/v1/alpha/members/{world_a.rep2.pk}/")
    assert response.status_code == 404


def test_admin_creates_a_member_and_validation_names_the_field(world_a):
    client = api_client_for(world_a.admin.user)
    response = client.post(
        "/api/v1/alpha/members/",
        {
            "email": "new@alpha.test",
            "first_name": "Nea",
            "role": "rep",
            "team": world_a.team.pk,
            "start_date": "2027-02-10",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert {
        k: body[k] for k in ("email", "first_name", "role", "team", "start_date", "end_date")
    } == {
        "email": "new@alpha.test",
        "first_name": "Nea",
        "role": "rep",
        "team": world_a.team.pk,
        "start_date": "2027-02-10",
        "end_date": None,
    }
    bad = client.post(
        "/api/v1/alpha/members/", {"email": "not-an-email", "role": "boss"}, format="json"
    )
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/problem+json"
    assert bad.json()["errors"] == [
        {"field": "email", "message": "Enter a valid email address."},
        {"field": "role", "message": '"boss" is not a valid choice.'},
    ]


def test_member_cannot_be_attached_to_another_tenants_team(world_a, world_b):
    client = api_client_for(world_a.admin.user)
    response = client.patch(
        f"/api/v1/alpha/members/{world_a.rep1.pk}/", {"team": world_b.team.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "team", "message": f'Invalid pk "{world_b.team.pk}" - object does not exist.'}
    ]
    with tenant_context(world_a.tenant):
        assert Membership.objects.get(pk=world_a.rep1.pk).team_id == world_a.team.pk


def test_rep_cannot_write_and_nothing_changes(world_a):
    client = api_client_for(world_a.rep1.user)
    response = client.patch(
        f"/api/v1/alpha/members/{world_a.rep1.pk}/", {"role": "admin"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "This action needs one of these roles: admin."
    with tenant_context(world_a.tenant):
        assert Membership.objects.get(pk=world_a.rep1.pk).role == "rep"
        assert AuditEvent.objects.filter(action="membership.update").count() == 0


def test_team_crud_and_subtree(world_a):
    client = api_client_for(world_a.admin.user)
    created = client.post(
        "/api/v1/alpha/teams/", {"name": "West SMB", "parent": world_a.team.pk}, format="json"
    ).json()
    root, west = world_a.root_team.pk, world_a.team.pk
    assert (created["path"], created["depth"]) == (f"/{root}/{west}/{created['id']}/", 2)
    subtree = client.get(f"/api/v1/alpha/teams/{west}/subtree/").json()
    assert [t["name"] for t in subtree] == ["West", "West SMB"]
    moved = client.patch(
        f"/api/v1/alpha/teams/{west}/", {"parent": world_a.other_team.pk}, format="json"
    )
    assert moved.json()["path"] == f"/{root}/{world_a.other_team.pk}/{west}/"
    cycle = client.patch(f"/api/v1/alpha/teams/{root}/", {"parent": created["id"]}, format="json")
    assert cycle.json()["errors"] == [
        {"field": "parent", "message": "A team cannot move under itself or its own sub-team."}
    ]
    assert client.delete(f"/api/v1/alpha/teams/{created['id']}/").status_code == 204
    with tenant_context(world_a.tenant):
        assert not Team.objects.filter(pk=created["id"]).exists()


def test_periods_filter_by_date_and_kind(world_a):
    client = api_client_for(world_a.rep1.user)
    body = client.get(
        "/api/v1/alpha/periods/", {"contains": "2027-02-10", "kind": "quarter"}
    ).json()
    assert [(p["label"], p["start"], p["end"], p["days"]) for p in body["results"]] == [
        ("FY2027 Q1", "2027-01-01", "2027-03-31", 90)
    ]


def test_only_admin_closes_a_period(world_a):
    period_id = (
        api_client_for(world_a.rep1.user)
        .get("/api/v1/alpha/periods/", {"contains": "2027-01-10", "kind": "month"})
        .json()["results"][0]["id"]
    )
    denied = api_client_for(world_a.finance.user).post(f"/api/v1/alpha/periods/{period_id}/close/")
    assert denied.status_code == 403
    closed = api_client_for(world_a.admin.user).post(f"/api/v1/alpha/periods/{period_id}/close/")
    assert (closed.status_code, closed.json()["is_closed"]) == (200, True)


def test_list_query_count_is_constant(world_a, django_assert_max_num_queries):
    client = api_client_for(world_a.admin.user)
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/alpha/members/")
    assert response.json()["count"] == 7


def test_openapi_schema_and_swagger_ui(world_a):
    client = api_client_for(world_a.admin.user)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/{tenant_slug}/teams/{id}/subtree/" in schema["paths"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_renaming_a_team_to_a_sibling_name_is_a_clear_400(world_a):
    client = api_client_for(world_a.admin.user)
    response = client.put(
        f"/api/v1/alpha/teams/{world_a.team.pk}/",
        {"name": "east", "parent": world_a.root_team.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "name", "message": "A team named 'east' already exists there."}
    ]


def test_a_database_conflict_is_a_409_problem_not_a_500(world_a):
    from django.db import IntegrityError, transaction

    from spm.api.errors import problem_exception_handler

    with transaction.atomic():
        response = problem_exception_handler(IntegrityError("duplicate key"), {})
    assert response.status_code == 409
    assert response.data == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "The change conflicts with existing data (a duplicate or a reference in use).",
    }


def test_nul_bytes_in_a_filter_name_the_field(world_a):
    client = api_client_for(world_a.admin.user)
    response = client.get("/api/v1/alpha/members/", {"email": "a\x00b@alpha.test"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "email", "message": "Null characters are not allowed."}
    ]


def test_values_the_database_cannot_store_are_a_400_problem():
    from django.db import DataError, transaction

    from spm.api.errors import problem_exception_handler

    with transaction.atomic():
        response = problem_exception_handler(DataError("time zone displacement out of range"), {})
    assert response.status_code == 400
    assert response.data == {
        "type": "about:blank",
        "title": "Invalid input",
        "status": 400,
        "detail": "A value is out of range or contains characters that cannot be stored.",
    }
