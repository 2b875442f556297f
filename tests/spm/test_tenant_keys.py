"""What tenant-led keys ask of the code: the tenant set with SET LOCAL outside
savepoints, saves and deletes pinned to the tenant, grouping without the
primary-key shortcut, and ``manage.py citus_distribute``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from pipeline.models import Account
from spm.db.citus import distribution_plan
from spm.models import Membership, Team
from spm.tenancy.context import current_tenant, tenant_context
from spm.tenancy.fields import TenantForeignKey
from spm.tenancy.models import TenantModel

pytestmark = pytest.mark.django_db


def _setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.tenant_id', true)")
        return cursor.fetchone()[0]


def test_tenant_context_sets_the_tenant_with_set_local_before_its_savepoint(world_a):
    with CaptureQueriesContext(connection) as queries, tenant_context(world_a.tenant):
        inside = _setting()
    sql = [q["sql"] for q in queries.captured_queries]
    assert sql[0] == f"SET LOCAL app.tenant_id = '{world_a.tenant.pk}'"
    assert sql[1].startswith("SAVEPOINT ")
    assert sql[-2].startswith("RELEASE SAVEPOINT ")
    assert sql[-1] == "SET LOCAL app.tenant_id = ''"
    assert inside == str(world_a.tenant.pk)
    assert _setting() == ""


def _fail_inside(tenant: object, seen: list[str]) -> None:
    with tenant_context(tenant):  # type: ignore[arg-type]
        seen.append(_setting())
        raise LookupError("inside")


def test_nested_tenant_contexts_restore_the_outer_tenant_also_after_an_error(world_a, world_b):
    seen: list[str] = []
    with tenant_context(world_a.tenant):
        with pytest.raises(LookupError):
            _fail_inside(world_b.tenant, seen)
        assert seen == [str(world_b.tenant.pk)]
        assert _setting() == str(world_a.tenant.pk)
        assert current_tenant() == world_a.tenant
        assert Team.objects.filter(pk=world_a.team.pk).exists()


def test_a_save_updates_by_tenant_and_id_and_never_sets_the_tenant(world_a):
    with tenant_context(world_a.tenant):
        team = Team.objects.get(pk=world_a.team.pk)
        team.name = "West Coast"
        with CaptureQueriesContext(connection) as queries:
            team.save()
        (update,) = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
        assert update.endswith(
            f'WHERE ("spm_team"."tenant_id" = {world_a.tenant.pk} AND "spm_team"."id" = {team.pk})'
        )
        assert '"tenant_id" = ' not in update.split(" WHERE ")[0]
        assert Team.objects.get(pk=team.pk).name == "West Coast"


def test_a_delete_and_the_writes_it_cascades_to_carry_the_tenant(world_a):
    with tenant_context(world_a.tenant):
        team = Team.objects.create(tenant=world_a.tenant, name="Gone", parent=world_a.team)
        member = world_a.rep1
        Membership.objects.filter(pk=member.pk).update(team=team)
        pk = team.pk
        with CaptureQueriesContext(connection) as queries:
            team.delete()
        writes = [
            q["sql"] for q in queries.captured_queries if q["sql"].startswith(("UPDATE", "DELETE"))
        ]
        member.refresh_from_db()
        gone = Team.objects.filter(pk=pk).exists()
    t = world_a.tenant.pk
    assert writes == [
        f'DELETE FROM "goals_quotachange" WHERE ("goals_quotachange"."team_id" IN ({pk}) '
        f'AND "goals_quotachange"."tenant_id" = {t})',
        f'DELETE FROM "kpis_kpisetting" WHERE ("kpis_kpisetting"."team_id" IN ({pk}) '
        f'AND "kpis_kpisetting"."tenant_id" = {t})',
        f'UPDATE "spm_membership" SET "team_id" = NULL WHERE ("spm_membership"."team_id" IN '
        f'({pk}) AND "spm_membership"."tenant_id" = {t})',
        f'DELETE FROM "spm_team" WHERE ("spm_team"."id" IN ({pk}) '
        f'AND "spm_team"."tenant_id" = {t})',
    ]
    assert member.team_id is None
    assert gone is False


def test_grouping_a_tenant_model_names_every_selected_column(world_a):
    with tenant_context(world_a.tenant):
        teams = Team.objects.filter(pk=world_a.team.pk).annotate(n=Count("members"))
        sql = str(teams.query)
        counts = [(t.name, t.n) for t in teams]
    group_by = sql.split("GROUP BY ")[1]
    assert group_by.startswith('"spm_team"."id", "spm_team"."tenant_id", "spm_team"."name"')
    assert counts == [("West", 2)]


def test_grouping_a_global_model_keeps_the_primary_key_shortcut(world_a):
    sql = str(type(world_a.tenant).objects.annotate(n=Count("id")).query)
    assert sql.endswith('FROM "spm_tenant" GROUP BY "spm_tenant"."id"')


def test_citus_distribute_refuses_without_the_extension():
    with pytest.raises(CommandError) as excinfo:
        call_command("citus_distribute", database="default")
    name = connection.settings_dict["NAME"]
    assert str(excinfo.value) == (
        f"The citus extension is not installed in database {name!r}: this command is for a "
        "Citus coordinator (CREATE EXTENSION citus; then add the workers). Plain PostgreSQL "
        "needs nothing of it."
    )


def test_the_distribution_plan_covers_every_table_in_dependency_order():
    with transaction.atomic(), connection.cursor() as cursor:
        plan = distribution_plan(cursor)
    assert plan.reference == ["spm_tenant", "spm_user"]
    assert plan.tenant[0] == "spm_team"
    tenant_models = [m for m in apps.get_models() if issubclass(m, TenantModel)]
    assert sorted(plan.tenant) == sorted(m._meta.db_table for m in tenant_models)
    position = {table: i for i, table in enumerate(plan.tenant)}
    # targets first, except for the team / membership pair (a cycle)
    assert position["spm_membership"] < position["pipeline_deal"] < position["pipeline_dealsplit"]
    assert position["pipeline_account"] < position["pipeline_deal"]
    assert position["spm_fiscalperiod"] < position["goals_quota"] < position["goals_quotachange"]
    assert len(plan.foreign_keys) == sum(
        isinstance(f, TenantForeignKey) and f.tenant_constraint
        for m in tenant_models
        for f in m._meta.local_fields
    )
    assert {fk.target for fk in plan.foreign_keys} <= set(plan.tenant)


def test_an_account_owner_is_read_within_the_tenant(world_a):
    with tenant_context(world_a.tenant):
        account = Account.objects.create(
            tenant=world_a.tenant,
            name="Initech",
            owner=world_a.rep1,
            customer_since=dt.date(2026, 3, 1),
        )
        account = Account.objects.get(pk=account.pk)
        with CaptureQueriesContext(connection) as queries:
            owner = account.owner
    assert owner == world_a.rep1
    assert queries.captured_queries[0]["sql"].endswith(
        f'WHERE ("spm_membership"."id" = {world_a.rep1.pk} '
        f'AND "spm_membership"."tenant_id" = {world_a.tenant.pk}) LIMIT 21'
    )
