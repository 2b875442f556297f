"""What the database knows about Citus, and distributing one tenant table.

Plain PostgreSQL is the default; Citus (distributed by ``tenant_id``) is the
path for the largest deployments (README, "Running on Citus"). Every tenant
table goes into one co-location group, anchored on ``ANCHOR_TABLE``, so a
tenant's rows of every table live on the same node and joins on
``tenant_id`` stay on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ANCHOR_TABLE = "spm_team"
DISTRIBUTION_COLUMN = "tenant_id"


def citus_installed(cursor: Any) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
    return bool(cursor.fetchone()[0])


def citus_tables(cursor: Any) -> dict[str, str]:
    """Table name -> ``distributed`` / ``reference`` / ``local`` (Citus only)."""
    cursor.execute("SELECT table_name::text, citus_table_type FROM citus_tables")
    return {name.strip('"'): kind for name, kind in cursor.fetchall()}


def deployment_distributed(cursor: Any) -> bool:
    """True once ``manage.py citus_distribute`` has distributed the tenant tables."""
    return citus_installed(cursor) and citus_tables(cursor).get(ANCHOR_TABLE) == "distributed"


def distribute_sql(table: str) -> str:
    """The statement that distributes ``table`` by tenant into the group."""
    colocate = "default" if table == ANCHOR_TABLE else ANCHOR_TABLE
    return (
        f"SELECT create_distributed_table('\"{table}\"', '{DISTRIBUTION_COLUMN}', "
        f"colocate_with => '{colocate}')"
    )


PROPAGATE_SQL = "ALTER DATABASE {database} SET citus.propagate_set_commands = 'local'"


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    target: str
    definition: str

    def drop_sql(self) -> str:
        return f'ALTER TABLE "{self.table}" DROP CONSTRAINT "{self.name}"'

    def add_sql(self) -> str:
        return f'ALTER TABLE "{self.table}" ADD CONSTRAINT "{self.name}" {self.definition}'


@dataclass(frozen=True)
class DistributionPlan:
    """What ``manage.py citus_distribute`` does, read from the catalogue.

    ``reference`` are the global tables the tenant tables refer to (and what
    those refer to), targets first; ``tenant`` every table with a
    ``tenant_id`` column, the anchor first, then targets before the tables
    referring to them; ``foreign_keys`` those between tenant tables, dropped
    before distributing and made again after (Citus distributes a table
    before the foreign keys to it, and the team / membership pair refers both
    ways).
    """

    reference: list[str]
    tenant: list[str]
    foreign_keys: list[ForeignKey]


def _public_tables(cursor: Any) -> tuple[list[str], set[str]]:
    cursor.execute(
        """
        SELECT c.relname::text,
               EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                       AND a.attname = %s AND NOT a.attisdropped)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        ORDER BY c.relname
        """,
        [DISTRIBUTION_COLUMN],
    )
    rows = cursor.fetchall()
    return [name for name, _ in rows], {name for name, tenant in rows if tenant}


def _foreign_keys(cursor: Any) -> list[ForeignKey]:
    cursor.execute(
        """
        SELECT src.relname::text, con.conname::text, dst.relname::text,
               pg_get_constraintdef(con.oid)
        FROM pg_constraint con
        JOIN pg_class src ON src.oid = con.conrelid
        JOIN pg_class dst ON dst.oid = con.confrelid
        JOIN pg_namespace n ON n.oid = src.relnamespace AND n.nspname = 'public'
        WHERE con.contype = 'f'
        ORDER BY src.relname, con.conname
        """
    )
    return [ForeignKey(*row) for row in cursor.fetchall()]


def _dependency_order(tables: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Targets before the tables referring to them; a cycle in name order."""
    pending = {t: {dst for src, dst in edges if src == t and dst != t} for t in tables}
    ordered: list[str] = []
    while pending:
        ready = sorted(t for t, deps in pending.items() if not deps & pending.keys())
        step = ready[:1] or [min(pending)]
        ordered.extend(step)
        for t in step:
            del pending[t]
    return ordered


class DistributionError(RuntimeError):
    """The schema cannot be distributed as it stands."""


def distribution_plan(cursor: Any) -> DistributionPlan:
    tables, tenant_tables = _public_tables(cursor)
    fks = _foreign_keys(cursor)
    into_tenant = [fk for fk in fks if fk.target in tenant_tables and fk.table not in tenant_tables]
    if into_tenant:
        names = ", ".join(f"{fk.table}.{fk.name}" for fk in into_tenant)
        raise DistributionError(
            f"Global tables refer to tenant tables ({names}): a reference table cannot "
            "refer to a distributed one."
        )
    reference: set[str] = set()
    frontier = {fk.target for fk in fks if fk.table in tenant_tables} - tenant_tables
    while frontier:
        reference |= frontier
        frontier = {fk.target for fk in fks if fk.table in frontier} - reference
    global_edges = [(fk.table, fk.target) for fk in fks if fk.table in reference]
    tenant_edges = [
        (fk.table, fk.target)
        for fk in fks
        if fk.table in tenant_tables and fk.target in tenant_tables
    ]
    tenant = _dependency_order(sorted(tenant_tables - {ANCHOR_TABLE}), tenant_edges)
    return DistributionPlan(
        reference=_dependency_order(sorted(reference), global_edges),
        tenant=[ANCHOR_TABLE, *tenant] if ANCHOR_TABLE in tenant_tables else tenant,
        foreign_keys=[fk for fk in fks if fk.table in tenant_tables and fk.target in tenant_tables],
    )


def reference_sql(table: str) -> str:
    return f"SELECT create_reference_table('\"{table}\"')"
