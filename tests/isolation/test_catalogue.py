"""Tenant-led keys, checked in the catalogue of the migrated database (the
shape Citus needs; CI has no Citus): primary keys, unique constraints and
foreign keys of tenant tables include ``tenant_id``, every foreign key between
tenant models is a ``TenantForeignKey`` with its composite constraint, and ORM
joins between tenant tables carry the tenant. Each rule is also shown to
catch a table built to break it."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection, connections, models, transaction
from django.db.migrations.state import ModelState, ProjectState
from django.test.utils import CaptureQueriesContext

from pipeline.models import Deal, DealSplit, Pipeline
from spm.db.tenant_keys import (
    TenantKeys,
    fk_constraint_name,
    foreign_key_target,
    primary_key_columns,
)
from spm.models import Membership, Team
from spm.tenancy.context import tenant_context
from spm.tenancy.fields import TenantForeignKey
from spm.tenancy.models import TenantModel
from tests.isolation.catalogue import join_violations, key_violations, tenant_tables

pytestmark = pytest.mark.django_db

TENANT_MODELS = [m for m in apps.get_models() if issubclass(m, TenantModel)]


def _fetch(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def test_every_tenant_table_keys_lead_with_the_tenant():
    with connection.cursor() as cursor:
        assert key_violations(cursor) == []
        tables = tenant_tables(cursor)
        primary_keys = {
            m._meta.db_table: primary_key_columns(cursor, m._meta.db_table)[1]
            for m in TENANT_MODELS
        }
    assert len(tables) == 77
    assert {m._meta.db_table for m in TENANT_MODELS} == tables
    assert set(map(tuple, primary_keys.values())) == {("tenant_id", "id")}
    # the audit trail is a tenant table like the others: tenant-led key, no
    # unique or foreign key without the tenant (its tenant and actor columns
    # carry no constraint at all, so its rows outlive a deleted tenant)
    assert primary_keys["integrations_auditrecord"] == ["tenant_id", "id"]
    assert "integrations_auditrecord" in tables


def test_every_foreign_key_between_tenant_models_is_a_tenant_foreign_key_with_its_constraint():
    plain = [
        f"{m._meta.label}.{f.name}"
        for m in TENANT_MODELS
        for f in m._meta.local_fields
        if isinstance(f, models.ForeignKey)
        and issubclass(f.related_model, TenantModel)
        and not isinstance(f, TenantForeignKey)
    ]
    assert plain == []
    expected = sorted(
        (
            m._meta.db_table,
            fk_constraint_name(m._meta.db_table, f.column),
            f.related_model._meta.db_table,
        )
        for m in TENANT_MODELS
        for f in m._meta.local_fields
        if isinstance(f, TenantForeignKey) and f.tenant_constraint
    )
    composite = _fetch(
        """
        SELECT src.relname::text, con.conname::text, dst.relname::text
        FROM pg_constraint con
        JOIN pg_class src ON src.oid = con.conrelid
        JOIN pg_class dst ON dst.oid = con.confrelid
        WHERE con.contype = 'f' AND src.relnamespace = 'public'::regnamespace
          AND dst.relname = ANY(%s)
        ORDER BY 1, 2
        """,
        [sorted(m._meta.db_table for m in TENANT_MODELS)],
    )
    assert composite == expected
    assert len(expected) == 154
    definition = _fetch(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
        ["pipeline_deal_account_id_tfk"],
    )
    assert definition == [
        (
            "FOREIGN KEY (tenant_id, account_id) REFERENCES pipeline_account(tenant_id, id) "
            "DEFERRABLE INITIALLY DEFERRED",
        )
    ]


def _build(*statements: str) -> str:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        cursor.execute("SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()")
        return cursor.fetchone()[0]


def _violations(namespace: str) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        return key_violations(cursor, namespace)


def test_the_check_catches_a_tenant_table_whose_primary_key_is_the_id_alone():
    namespace = _build("CREATE TEMP TABLE t_pk (id bigint PRIMARY KEY, tenant_id bigint NOT NULL)")
    assert _violations(namespace) == [("primary key", "t_pk", "t_pk_pkey")]


def test_the_check_catches_a_unique_constraint_and_a_unique_index_without_the_tenant():
    namespace = _build(
        "CREATE TEMP TABLE t_uq (id bigint, tenant_id bigint, code text, "
        "PRIMARY KEY (tenant_id, id), CONSTRAINT t_uq_code UNIQUE (code))",
        "CREATE UNIQUE INDEX t_uq_lower ON t_uq (lower(code), id)",
        "CREATE UNIQUE INDEX t_uq_fine ON t_uq (tenant_id, code)",
    )
    assert _violations(namespace) == [
        ("unique", "t_uq", "t_uq_code"),
        ("unique", "t_uq", "t_uq_lower"),
    ]


def test_the_check_catches_foreign_keys_into_a_tenant_table_without_the_tenant():
    namespace = _build(
        "CREATE TEMP TABLE t_parent (id bigint, tenant_id bigint, PRIMARY KEY (tenant_id, id), "
        "CONSTRAINT t_parent_id UNIQUE (id, tenant_id))",
        # the tenant on both sides, but not paired with each other
        "CREATE TEMP TABLE t_child (id bigint, tenant_id bigint, parent_id bigint, "
        "PRIMARY KEY (tenant_id, id), "
        "CONSTRAINT t_child_crossed FOREIGN KEY (tenant_id, parent_id) "
        "REFERENCES t_parent (id, tenant_id), "
        "CONSTRAINT t_child_fine FOREIGN KEY (tenant_id, parent_id) "
        "REFERENCES t_parent (tenant_id, id))",
        # a global table referring to a tenant table
        "CREATE TEMP TABLE t_global (id bigint PRIMARY KEY, parent_id bigint, "
        "parent_tenant bigint, CONSTRAINT t_global_parent FOREIGN KEY (parent_tenant, parent_id) "
        "REFERENCES t_parent (tenant_id, id))",
    )
    assert _violations(namespace) == [
        ("foreign key", "t_child", "t_child_crossed"),
        ("foreign key", "t_global", "t_global_parent"),
    ]


def _sql(queryset: models.QuerySet) -> str:
    return str(queryset.query)


def test_orm_joins_between_tenant_models_carry_the_tenant(world_a):
    with tenant_context(world_a.tenant):
        queries = {
            "select_related": _sql(Deal.objects.select_related("account", "owner__team")),
            "filter across": _sql(DealSplit.objects.filter(deal__account__name="x")),
            "reverse": _sql(Team.objects.filter(members__role="rep")),
            "ordering across": _sql(Membership.objects.order_by("team__name")),
        }
    assert queries["select_related"].count('."tenant_id" = ("pipeline_deal"."tenant_id")') == 2
    assert {
        name: join_violations(
            sql,
            {
                "pipeline_deal",
                "pipeline_account",
                "pipeline_dealsplit",
                "spm_membership",
                "spm_team",
            },
        )
        for name, sql in queries.items()
    } == {name: [] for name in queries}


def test_a_reverse_prefetch_reads_within_the_tenant(world_a):
    with tenant_context(world_a.tenant), CaptureQueriesContext(connection) as queries:
        pipelines = list(Pipeline.objects.prefetch_related("stages"))
    (pipeline,) = pipelines
    prefetch = queries.captured_queries[1]["sql"]
    assert (
        f'WHERE ("pipeline_stage"."tenant_id" = {world_a.tenant.pk} '
        f'AND "pipeline_stage"."pipeline_id" IN ({pipeline.pk}))'
    ) in prefetch


def test_the_check_catches_a_join_without_the_tenant():
    sql = (
        'SELECT "pipeline_deal"."id" FROM "pipeline_deal" INNER JOIN "pipeline_account" ON '
        '("pipeline_deal"."account_id" = "pipeline_account"."id") LEFT OUTER JOIN "spm_team" T3 '
        'ON ("pipeline_account"."id" = T3."id" '
        'AND (T3."tenant_id" = ("pipeline_account"."tenant_id"))) '
        'INNER JOIN "spm_user" ON ("pipeline_deal"."id" = "spm_user"."id")'
    )
    assert join_violations(sql, {"pipeline_deal", "pipeline_account", "spm_team"}) == [
        'JOIN pipeline_account ON ("pipeline_deal"."account_id" = "pipeline_account"."id")'
    ]


@pytest.mark.django_db(databases=["default", "owner"])
def test_tenant_keys_give_a_new_tenant_table_its_keys_as_a_later_migration_would():
    """A later migration's CreateModel of two tenant models, then TenantKeys:
    composite primary keys and foreign key, nothing left on ``id`` alone."""
    state = ProjectState.from_apps(apps)
    tenant_fk = ("tenant", models.ForeignKey("spm.tenant", models.CASCADE, related_name="+"))
    state.add_model(
        ModelState("spm", "KeysParent", [("id", models.BigAutoField(primary_key=True)), tenant_fk])
    )
    state.add_model(
        ModelState(
            "spm",
            "KeysChild",
            [
                ("id", models.BigAutoField(primary_key=True)),
                tenant_fk,
                ("parent", TenantForeignKey("spm.keysparent", models.CASCADE, related_name="+")),
            ],
        )
    )
    owner = connections["owner"]
    with transaction.atomic(using="owner"):
        with owner.schema_editor(atomic=False) as editor:
            for name in ("keysparent", "keyschild"):
                editor.create_model(state.apps.get_model("spm", name))
            TenantKeys("keysparent", "keyschild").database_forwards("spm", editor, state, state)
        with owner.cursor() as cursor:
            violations = key_violations(cursor)
            keys = [primary_key_columns(cursor, t)[1] for t in ("spm_keysparent", "spm_keyschild")]
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'spm_keyschild'::regclass AND contype = 'f' ORDER BY 1"
            )
            foreign_keys = [row[0] for row in cursor.fetchall()]
            composite = foreign_key_target(cursor, "spm_keyschild", "spm_keyschild_parent_id_tfk")
        transaction.set_rollback(True, using="owner")
    assert violations == []
    assert keys == [["tenant_id", "id"], ["tenant_id", "id"]]
    assert foreign_keys == [
        "FOREIGN KEY (tenant_id) REFERENCES spm_tenant(id) DEFERRABLE INITIALLY DEFERRED",
        "FOREIGN KEY (tenant_id, parent_id) REFERENCES spm_keysparent(tenant_id, id) "
        "DEFERRABLE INITIALLY DEFERRED",
    ]
    assert composite == "spm_keysparent"
