"""tenant_delete (what `seed_demo --reset` uses) removes a tenant with every row
it owns, past the PROTECT keys between its tables, and leaves the other tenant.
The audit trail, append-only, keeps the tenant's records, the deletes included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection

from goals.models import Goal, Quota
from integrations.models import AuditRecord
from pipeline.models import Deal, StageChange
from spm.models import Membership, Team, Tenant
from spm.services import tenant_delete
from spm.tenancy.context import tenant_context
from tests.goals.factories import GoalFactory, QuotaFactory, period
from tests.pipeline.factories import AccountFactory, DealFactory

pytestmark = pytest.mark.django_db


def _rows_per_table(tenant: Tenant, *, append_only: bool = False) -> dict[str, int]:
    """Rows of the tenant in every table with a foreign key to the tenant (read
    in its context: RLS shows no row without one), the append-only ones or the others."""
    tables = sorted(
        {
            (model._meta.db_table, field.column)
            for model in apps.get_models()
            if getattr(model, "append_only", False) == append_only
            for field in model._meta.concrete_fields
            if field.is_relation and field.related_model is Tenant
        }
    )
    counts = {}
    with tenant_context(tenant), connection.cursor() as cursor:
        for table, column in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}" = %s', [tenant.pk])
            counts[table] = cursor.fetchone()[0]
    return {table: n for table, n in counts.items() if n}


def _fill(world) -> None:
    tenant = world.tenant
    with tenant_context(tenant):
        account = AccountFactory(tenant=tenant, actor=world.admin)
        deal = DealFactory(tenant=tenant, actor=world.admin, owner=world.rep1, account=account)
        DealFactory(
            tenant=tenant, actor=world.admin, owner=world.rep2, account=account, stage="Closing"
        )
        QuotaFactory(
            tenant=tenant,
            actor=world.admin,
            membership=world.rep1,
            period=period(tenant, "quarter", 2027, 1),
            amount=Decimal("90000.00"),
        )
        parent = GoalFactory(tenant=tenant, actor=world.admin)
        GoalFactory(
            tenant=tenant,
            actor=world.admin,
            level="team",
            owner_team=world.team,
            parent=parent,
            due_date=dt.date(2027, 6, 30),
        )
        assert StageChange.objects.filter(deal=deal).count() == 1


def test_a_tenant_with_protected_rows_is_deleted_whole_and_the_other_is_untouched(world_a, world_b):
    # given two tenants with deals, stage history, quotas, a goal tree and a team tree
    _fill(world_a)
    _fill(world_b)
    a_id = world_a.tenant.pk
    a_rows = _rows_per_table(world_a.tenant)
    b_rows = _rows_per_table(world_b.tenant)
    with tenant_context(world_a.tenant):
        assert (Deal.objects.count(), Quota.objects.count(), Team.objects.count()) == (2, 1, 3)

    a_trail = _rows_per_table(world_a.tenant, append_only=True)["integrations_auditrecord"]
    with tenant_context(world_a.tenant):
        tracked_rows = AuditRecord.objects.values("object_type", "object_id").distinct().count()
        deleted_in_tracked_tables = (
            Quota.objects.count()
            + Team.objects.count()
            + Membership.objects.count()
            + Goal.objects.count()
        )

    # when A is deleted
    tenant_delete(world_a.tenant)

    # then no row of A is left anywhere, and B has exactly what it had
    assert list(Tenant.objects.filter(pk=a_id)) == []
    assert _rows_per_table(world_a.tenant) == {}
    assert _rows_per_table(world_b.tenant) == b_rows == a_rows
    assert (b_rows["pipeline_deal"], b_rows["goals_quota"], b_rows["spm_team"]) == (2, 1, 3)
    # A's audit trail stays, with a delete record for each row of a tracked table
    with tenant_context(world_a.tenant):
        deletes = AuditRecord.objects.filter(action="delete").count()
        assert AuditRecord.objects.count() == a_trail + deletes
    assert deletes == deleted_in_tracked_tables
    assert tracked_rows >= deleted_in_tracked_tables
