"""The audit trail: every change of a tracked table is recorded by the
database with its before and after, its actor and how it came (page, API
with its token, bulk update, raw SQL), read back through the API and the
page; the runtime role cannot change or delete a record; another tenant
never sees them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import ProgrammingError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from goals.models import Quota
from integrations.audit.selectors import audit_changes, audit_value_text
from integrations.audit.tracking import TRACKED
from integrations.models import AuditRecord
from spm import services as core_services
from spm.tenancy.context import set_db_user, tenant_context
from tests.conftest import api_client_for, client_for, if_match
from tests.goals.factories import QuotaFactory, period
from tests.integrations.factories import bearer, issue_token

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 2, 15, 10, 0, tzinfo=dt.UTC)


def api(world, path):
    return f"/api/v1/{world.tenant.slug}/{path}"


def audit_page(world):
    return reverse("integrations:audit", kwargs={"tenant_slug": world.tenant.slug})


def _amounts(change_list):
    return [(c["field"], c["before"], c["after"]) for c in change_list if c["field"] == "amount"]


@pytest.fixture
def quota(world_a):
    with tenant_context(world_a.tenant):
        q1 = period(world_a.tenant, "quarter", 2027, 1)
        return QuotaFactory(
            tenant=world_a.tenant, actor=world_a.admin, membership=world_a.rep1, period=q1
        )


def _change_quota_four_ways(world_a, quota):
    """The issue's "done when": the quota changed through the page (a cell of the
    grid), the API (a token), a bulk update() and a raw SQL UPDATE as the
    runtime role. Returns the token used on the API."""
    with time_machine.travel(NOW, tick=False):
        token = issue_token(world_a.admin, ["quotas:write", "audit:read"], name="CRM sync")
        # the page: the manager enters rep1's January in the grid (a new quota);
        # the API: the token changes rep1's quarter
        with tenant_context(world_a.tenant):
            jan = period(world_a.tenant, "month", 2027, 1)
        page = client_for(world_a.manager.user).post(
            reverse("goals:quota-cell", kwargs={"tenant_slug": world_a.tenant.slug}),
            {
                "subject": f"m{world_a.rep1.pk}",
                "period": jan.pk,
                "measure": "bookings",
                "amount": "12,500",
            },
        )
        assert page.status_code == 200
        client = bearer(token.key)
        url = api(world_a, f"quotas/{quota.pk}/")
        changed = client.patch(url, {"amount": "95000.00"}, format="json", **if_match(client, url))
        assert changed.status_code == 200
    _as_in_a_new_transaction()
    with tenant_context(world_a.tenant):
        assert Quota.objects.filter(pk=quota.pk).update(amount=Decimal("97000.00")) == 1
        with connection.cursor() as cursor:
            cursor.execute("UPDATE goals_quota SET amount = 99000.00 WHERE id = %s", [quota.pk])
    return token


def _as_in_a_new_transaction():
    """A test runs in one database transaction, so the transaction-local
    settings of the requests it made (the pghistory context, ``app.user_id``)
    would still be set for what it writes next; a real request, task or
    console session starts a transaction without them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_metadata', '', true), "
            "set_config('pghistory.context_id', '', true), set_config('app.user_id', '', true)"
        )


def test_quota_changes_by_page_api_bulk_update_and_raw_sql_are_all_recorded(world_a, quota):
    token = _change_quota_four_ways(world_a, quota)
    reader = bearer(token.key)

    # the quota's history, newest first, through the API
    response = reader.get(api(world_a, f"audit/?object_type=goals.quota&object_id={quota.pk}"))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [
        (r["action"], _amounts(r["changes"]), r["member"], r["via"], r["token"]) for r in rows
    ] == [
        ("update", [("amount", "97000.00", "99000.00")], None, None, None),
        ("update", [("amount", "95000.00", "97000.00")], None, None, None),
        (
            "update",
            [("amount", "90000.00", "95000.00")],
            world_a.admin.pk,
            "api",
            token.token.prefix,
        ),
        ("create", [("amount", None, "90000.00")], None, None, None),
    ]
    api_change = rows[2]
    assert api_change["actor_name"] == "Ada Admin"
    assert api_change["object_name"] == "Quota"
    assert (api_change["before"]["amount"], api_change["after"]["amount"]) == (
        "90000.00",
        "95000.00",
    )
    assert sorted(c["field"] for c in api_change["changes"]) == ["amount", "source", "updated_at"]
    assert [c for c in api_change["changes"] if c["field"] == "source"] == [
        {"field": "source", "before": "manual", "after": "api"}
    ]
    # the time is the database's (the transaction's start), not the frozen clock's
    recorded = dt.datetime.fromisoformat(api_change["created_at"])
    assert abs(recorded - timezone.now()) < dt.timedelta(minutes=10)

    # the page's change (rep1's new January quota), found by the person who made it
    by_manager = reader.get(api(world_a, f"audit/?member={world_a.manager.pk}")).json()
    assert [
        (r["action"], r["object_type"], _amounts(r["changes"]), r["via"])
        for r in by_manager["results"]
    ] == [("create", "goals.quota", [("amount", None, "12500.00")], "page")]


def test_the_page_shows_every_change_with_before_and_after(
    world_a, quota, django_assert_max_num_queries
):
    _change_quota_four_ways(world_a, quota)
    client = client_for(world_a.finance.user)
    path = audit_page(world_a) + f"?object_type=goals.quota&object_id={quota.pk}"
    response = client.get(path)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="audit-row"') == 4
    for before, after in (
        ("97000.00", "99000.00"),
        ("95000.00", "97000.00"),
        ("90000.00", "95000.00"),
    ):
        assert f"<code>amount</code>: <del>{before}</del> → <ins>{after}</ins>" in html
    assert "<code>amount</code>: <ins>90000.00</ins>" in html
    assert "API · token CRM sync" in html
    assert 'aria-current="page">Audit trail</a>' in html


def test_page_and_api_query_counts_do_not_grow_with_records(
    world_a, quota, django_assert_num_queries
):
    client = client_for(world_a.admin.user)
    api_client = api_client_for(world_a.admin.user)
    client.get(audit_page(world_a))  # caches the tenant's single sign-on setting
    with django_assert_num_queries(16):
        client.get(audit_page(world_a))
    with django_assert_num_queries(9):
        api_client.get(api(world_a, "audit/"))
    with tenant_context(world_a.tenant):
        before = AuditRecord.objects.count()
        for amount in range(1, 61):
            Quota.objects.filter(pk=quota.pk).update(amount=Decimal(amount))
        assert AuditRecord.objects.count() == before + 60
    with django_assert_num_queries(16):
        client.get(audit_page(world_a))
    with django_assert_num_queries(9):
        api_client.get(api(world_a, "audit/"))


def test_only_admins_and_finance_see_the_trail(world_a, quota):
    for role, member in world_a.members().items():
        page = client_for(member.user).get(audit_page(world_a))
        endpoint = api_client_for(member.user).get(api(world_a, "audit/"))
        allowed = role in {"admin", "finance"}
        assert (page.status_code, endpoint.status_code) == (
            (200, 200) if allowed else (403, 403)
        ), role


def test_a_token_needs_the_audit_read_scope(world_a, quota):
    token = issue_token(world_a.admin, ["reports:read"])
    response = bearer(token.key).get(api(world_a, "audit/"))
    assert response.status_code == 403
    assert response.json()["detail"] == "This token lacks the scope audit:read."


def test_the_trail_is_read_only_through_the_api(world_a, quota):
    client = api_client_for(world_a.admin.user)
    with tenant_context(world_a.tenant):
        record = AuditRecord.objects.first()
    assert client.post(api(world_a, "audit/"), {}, format="json").status_code == 405
    assert client.delete(api(world_a, f"audit/{record.pk}/")).status_code == 405


def test_another_tenant_never_sees_the_records(world_a, world_b, quota):
    with tenant_context(world_a.tenant):
        a_record = AuditRecord.objects.filter(object_type="goals.quota").get()
        a_count = AuditRecord.objects.count()
    b_admin = api_client_for(world_b.admin.user)
    listed = b_admin.get(api(world_b, "audit/?object_type=goals.quota")).json()
    assert listed["results"] == []
    assert b_admin.get(api(world_b, f"audit/{a_record.pk}/")).status_code == 404
    assert b_admin.get(api(world_a, "audit/")).status_code == 404
    assert client_for(world_b.admin.user).get(audit_page(world_a)).status_code == 404
    b_page = client_for(world_b.admin.user).get(audit_page(world_b) + "?object_type=goals.quota")
    assert b_page.content.decode().count('data-testid="audit-row"') == 0
    # the database wall: raw SQL in B's context sees none of A's records
    with tenant_context(world_b.tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM integrations_auditrecord WHERE tenant_id = %s",
            [world_a.tenant.pk],
        )
        assert cursor.fetchone() == (0,)
    with tenant_context(world_a.tenant):
        assert AuditRecord.objects.count() == a_count


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE integrations_auditrecord SET after = NULL",
        "DELETE FROM integrations_auditrecord",
        "TRUNCATE integrations_auditrecord",
    ],
)
def test_the_runtime_role_cannot_change_or_delete_records(world_a, quota, statement):
    with tenant_context(world_a.tenant):
        before = list(AuditRecord.objects.order_by("id").values_list("id", "after"))
        with (
            pytest.raises(
                ProgrammingError, match="permission denied for table integrations_auditrecord"
            ),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
        assert list(AuditRecord.objects.order_by("id").values_list("id", "after")) == before
    assert before != []


def test_every_tracked_table_has_the_trigger_and_the_audit_table_its_walls(world_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'integrations_audit' AND NOT t.tgisinternal ORDER BY 1"
        )
        triggered = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT privilege_type::text FROM information_schema.role_table_grants "
            "WHERE table_name = 'integrations_auditrecord' AND grantee = current_user ORDER BY 1"
        )
        privileges = [row[0] for row in cursor.fetchall()]
    assert triggered == sorted(t.table for t in TRACKED)
    assert privileges == ["INSERT", "SELECT"]


def test_members_and_teams_are_recorded_with_the_signed_in_actor(world_a):
    with tenant_context(world_a.tenant):
        set_db_user(world_a.admin.user_id)
        actor = world_a.admin.user
        core_services.membership_update(
            world_a.tenant, membership=world_a.rep1, actor=actor, title="Senior rep"
        )
        team = core_services.team_create(world_a.tenant, name="North", actor=actor)
        team_id = team.pk
        core_services.team_delete(world_a.tenant, team=team, actor=actor)
        records = list(
            AuditRecord.objects.filter(
                object_type__in=["spm.membership", "spm.team"], actor__isnull=False
            )
            .order_by("id")
            .values_list("action", "object_type", "object_id", "actor_id")
        )
        changed = AuditRecord.objects.get(
            object_type="spm.membership", action="update", actor__isnull=False
        )
    admin = world_a.admin.user_id
    assert records == [
        ("update", "spm.membership", world_a.rep1.pk, admin),
        ("create", "spm.team", team_id, admin),
        # team_create fills the team's path in once it has its id
        ("update", "spm.team", team_id, admin),
        ("delete", "spm.team", team_id, admin),
    ]
    assert (changed.before["title"], changed.after["title"]) == ("", "Senior rep")


def test_an_update_that_changes_nothing_writes_no_record(world_a, quota):
    with tenant_context(world_a.tenant):
        count = AuditRecord.objects.count()
        Quota.objects.filter(pk=quota.pk).update(amount=Decimal("90000.00"))
        assert AuditRecord.objects.count() == count


def test_bad_filters_are_named(world_a, quota):
    response = api_client_for(world_a.admin.user).get(
        api(world_a, "audit/?date_from=yesterday&object_type=x")
    )
    assert response.status_code == 400
    body = response.json()
    assert sorted(error["field"] for error in body["errors"]) == ["date_from", "object_type"]
    page = client_for(world_a.admin.user).get(audit_page(world_a) + "?date_from=yesterday")
    assert page.status_code == 400
    assert "date_from: Enter a valid date." in page.content.decode()


def test_date_range_is_in_the_tenants_days(world_a, quota):
    client = api_client_for(world_a.admin.user)
    with tenant_context(world_a.tenant):
        created = AuditRecord.objects.get(object_type="goals.quota").created_at.date()
    day = created.isoformat()
    next_day = (created + dt.timedelta(days=1)).isoformat()
    inside = client.get(
        api(world_a, f"audit/?object_type=goals.quota&date_from={day}&date_to={day}")
    )
    after = client.get(api(world_a, f"audit/?object_type=goals.quota&date_from={next_day}"))
    assert [r["object_id"] for r in inside.json()["results"]] == [quota.pk]
    assert after.json()["results"] == []


def test_csv_export_has_the_filtered_records(world_a, quota):
    response = api_client_for(world_a.admin.user).get(
        api(world_a, f"audit/?object_type=goals.quota&object_id={quota.pk}&format=csv")
    )
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response.status_code == 200
    assert lines[0].split(",")[:6] == [
        "id",
        "created_at",
        "action",
        "object_type",
        "object_name",
        "object_id",
    ]
    assert len(lines) == 2


def test_recorded_values_are_shown_exactly():
    assert audit_value_text(Decimal("90000.00")) == "90000.00"
    assert audit_value_text(None) == "—"
    assert audit_value_text(True) == "true"
    assert audit_value_text({"rate": Decimal("0.05"), "tiers": [1, 2]}) == (
        '{"rate": "0.05", "tiers": [1, 2]}'
    )


def test_recorded_dates_and_moments_are_shown_in_the_page_format():
    # The database records them as ISO text; the page shows the one date format,
    # moments in the current time zone and to the second.
    with timezone.override("America/New_York"):
        assert audit_value_text("2027-01-31") == "Jan 31, 2027"
        assert audit_value_text("2026-12-07T10:57:20.04397+00:00") == "Dec 7, 2026 05:57:20"
        assert audit_value_text("2026-12-07T10:57:43+00:00") == "Dec 7, 2026 05:57:43"
    # Text that only starts like a date stays as it is.
    assert audit_value_text("2027-01-31 renewal") == "2027-01-31 renewal"


def test_a_delete_shows_every_column_it_removed():
    record = AuditRecord(
        action="delete",
        before={"id": 4, "tenant_id": 1, "name": "North", "depth": 1},
        after=None,
    )
    assert [(c.field, c.before, c.after) for c in audit_changes(record)] == [
        ("name", "North", None),
        ("depth", 1, None),
    ]


def test_another_tenants_member_id_matches_no_one(world_a, world_b, quota):
    client = api_client_for(world_a.admin.user)
    same_name = client.get(api(world_a, f"audit/?member={world_b.admin.pk}")).json()
    assert same_name["results"] == []
    mine = client.get(api(world_a, f"audit/?member={world_a.admin.pk}&object_type=goals.quota"))
    assert mine.json()["results"] == []  # the quota fixture was made with no one signed in
