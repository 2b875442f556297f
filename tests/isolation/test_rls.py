"""The database wall: Row Level Security as the runtime role."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.db.models import Count

from spm.db.rls import POLICY_NAME
from spm.tenancy.context import tenant_context
from spm.tenancy.models import TenantModel

pytestmark = pytest.mark.django_db


def _fetch(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def test_runtime_role_is_neither_superuser_nor_bypassrls_nor_owner():
    rows = _fetch(
        "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert rows == [("spm_app", False, False)]
    owned = _fetch(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
    )
    assert owned == [(0,)]


def test_every_tenant_table_has_forced_rls_and_the_tenant_policy():
    tables = _fetch(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               EXISTS (SELECT 1 FROM pg_policies p
                       WHERE p.tablename = c.relname AND p.policyname = %s
                         AND p.qual LIKE '%%app.tenant_id%%'
                         AND p.with_check LIKE '%%app.tenant_id%%')
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
        WHERE c.relkind = 'r'
        ORDER BY c.relname
        """,
        [POLICY_NAME],
    )
    unprotected = [row[0] for row in tables if not (row[1] and row[2] and row[3])]
    assert unprotected == []
    tenant_models = {m._meta.db_table for m in apps.get_models() if issubclass(m, TenantModel)}
    assert tenant_models <= {row[0] for row in tables}
    assert "spm_membership" in tenant_models


def test_raw_sql_without_tenant_filter_sees_only_the_current_tenant(world_a, world_b):
    with tenant_context(world_a.tenant):
        teams = _fetch("SELECT DISTINCT tenant_id FROM spm_team")
        members = _fetch("SELECT DISTINCT tenant_id FROM spm_membership")
        periods = _fetch("SELECT DISTINCT tenant_id FROM spm_fiscalperiod")
    assert teams == [(world_a.tenant.pk,)]
    assert members == [(world_a.tenant.pk,)]
    assert periods == [(world_a.tenant.pk,)]


def test_no_tenant_in_context_sees_no_rows(world_a, world_b):
    with transaction.atomic():
        assert _fetch("SELECT count(*) FROM spm_team") == [(0,)]
        assert _fetch("SELECT count(*) FROM spm_membership") == [(0,)]


def test_writing_a_row_of_another_tenant_is_refused(world_a, world_b):
    with (
        tenant_context(world_a.tenant),
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
    ):
        _fetch(
            "INSERT INTO spm_team (tenant_id, name, path, depth) VALUES (%s, 'Sneaky', '/', 0)",
            [world_b.tenant.pk],
        )


def test_updating_rows_of_another_tenant_touches_nothing(world_a, world_b):
    with tenant_context(world_a.tenant), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE spm_team SET name = 'Hijacked' WHERE tenant_id = %s", [world_b.tenant.pk]
        )
        assert cursor.rowcount == 0
    with tenant_context(world_b.tenant):
        assert _fetch("SELECT count(*) FROM spm_team WHERE name = 'Hijacked'") == [(0,)]


def test_scoped_manager_fails_closed_without_tenant(world_a):
    from spm.models import Membership, Team
    from spm.tenancy.context import NoTenantError

    # Building a queryset with no tenant is fine (forms and filters declare
    # theirs at import time); running it raises, naming the model.
    teams = Team.objects.filter(name="West")
    with pytest.raises(NoTenantError) as raised:
        list(teams)
    assert str(raised.value) == (
        "Team.objects was queried with no tenant in context: build the queryset inside "
        "tenant_context(tenant) (pages, the API and tenant tasks run in one), or use "
        "Team.unscoped() for a deliberate cross-tenant read."
    )
    for run in (
        Membership.objects.count,
        Membership.objects.exists,
        lambda: Membership.objects.aggregate(n=Count("id")),
        lambda: Team.objects.update(name="Hijacked"),
        lambda: Team.objects.filter(depth=9).delete(),
        lambda: list(Membership.unscoped().filter(team__in=Team.objects.all())),
    ):
        with pytest.raises(NoTenantError), transaction.atomic():
            run()
    # The database wall still shows nothing without a tenant.
    assert list(Team.unscoped()) == []
    assert Membership.unscoped().count() == 0
    with tenant_context(world_a.tenant):
        assert Team.objects.count() == 3
        assert sorted(Team.objects.values_list("name", flat=True)) == ["East", "Sales", "West"]


def test_nested_contexts_restore_the_outer_tenant(world_a, world_b):
    from spm.models import Team

    with tenant_context(world_a.tenant):
        with tenant_context(world_b.tenant):
            inner = set(Team.unscoped().values_list("tenant_id", flat=True))
        outer = set(Team.unscoped().values_list("tenant_id", flat=True))
    assert inner == {world_b.tenant.pk}
    assert outer == {world_a.tenant.pk}
