"""Checks of the tenant-led key rules (docs/architecture.md, "Tenant keys"),
over the PostgreSQL catalogue and over SQL text.

A tenant table is a table with a ``tenant_id`` column. The rules, which are
what Citus needs to distribute the schema by tenant:

1. its primary key includes ``tenant_id``;
2. each of its unique constraints and unique indexes includes ``tenant_id``;
3. a foreign key into a tenant table comes from a tenant table and pairs
   ``tenant_id`` with ``tenant_id``;
4. a join between two tenant tables (in the SQL Django writes) has
   ``tenant_id = tenant_id`` in its condition.
"""

from __future__ import annotations

import re
from typing import Any

KEYS_SQL = """
WITH t AS (
    SELECT c.oid, c.relname::text AS name,
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                   AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS tenant
    FROM pg_class c WHERE c.relnamespace = %(ns)s::regnamespace AND c.relkind = 'r'
)
SELECT 'primary key', t.name, c.relname::text
FROM t JOIN pg_index i ON i.indrelid = t.oid AND i.indisprimary
JOIN pg_class c ON c.oid = i.indexrelid
WHERE t.tenant AND NOT EXISTS (
    SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'tenant_id'
    AND a.attnum = ANY(i.indkey))
UNION ALL
SELECT 'unique', t.name, c.relname::text
FROM t JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique AND NOT i.indisprimary
JOIN pg_class c ON c.oid = i.indexrelid
WHERE t.tenant AND NOT EXISTS (
    SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'tenant_id'
    AND a.attnum = ANY(i.indkey))
UNION ALL
SELECT 'foreign key', src.relname::text, con.conname::text
FROM pg_constraint con
JOIN pg_class src ON src.oid = con.conrelid
JOIN t dst ON dst.oid = con.confrelid AND dst.tenant
WHERE con.contype = 'f' AND NOT EXISTS (
    SELECT 1 FROM unnest(con.conkey, con.confkey) AS k(src_att, dst_att)
    JOIN pg_attribute sa ON sa.attrelid = con.conrelid AND sa.attnum = k.src_att
    JOIN pg_attribute da ON da.attrelid = con.confrelid AND da.attnum = k.dst_att
    WHERE sa.attname = 'tenant_id' AND da.attname = 'tenant_id')
ORDER BY 1, 2, 3
"""


def key_violations(cursor: Any, namespace: str = "public") -> list[tuple[str, str, str]]:
    """(rule, table, constraint or index) for every key of a tenant table in
    ``namespace`` that breaks rules 1-3."""
    cursor.execute(KEYS_SQL, {"ns": namespace})
    return [tuple(row) for row in cursor.fetchall()]


def tenant_tables(cursor: Any) -> set[str]:
    cursor.execute(
        "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
        "AND a.attname = 'tenant_id' AND NOT a.attisdropped"
    )
    return {row[0] for row in cursor.fetchall()}


_KEYWORDS = "ON|WHERE|INNER|LEFT|RIGHT|FULL|CROSS|GROUP|HAVING|ORDER|LIMIT|OFFSET|FOR|UNION"
_TABLE_RE = re.compile(
    rf'(?P<kind>FROM|JOIN) "(?P<table>\w+)"(?: (?!(?:{_KEYWORDS})\b)(?P<alias>\w+))?'
)
_COLUMN_RE = re.compile(r'(?:"(?P<q>\w+)"|\b(?P<u>T\d+))\."\w+"')
# Django writes the right-hand column in parentheses.
_TENANT_PAIR_RE = re.compile(r'(?:"\w+"|T\d+)\."tenant_id" = \(?(?:"\w+"|T\d+)\."tenant_id"')


def _on_clause(sql: str, start: int) -> str:
    """The parenthesised condition that starts at ``sql[start]`` (an opening paren)."""
    depth = 0
    for i in range(start, len(sql)):
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                return sql[start + 1 : i]
    return sql[start + 1 :]


def join_violations(sql: str, tenant: set[str]) -> list[str]:
    """Joins in ``sql`` (Django's quoting) between two tenant tables whose
    condition lacks ``tenant_id = tenant_id`` (rule 4)."""
    aliases: dict[str, str] = {}
    joins: list[tuple[str, str, int]] = []
    for match in _TABLE_RE.finditer(sql):
        table = match.group("table")
        alias = match.group("alias") or table
        aliases[alias] = table
        if match.group("kind") == "JOIN":
            on = sql.find(" ON (", match.end())
            if on != -1:
                joins.append((table, alias, on + len(" ON ")))
    found = []
    for table, alias, start in joins:
        condition = _on_clause(sql, start)
        others = {m.group("q") or m.group("u") for m in _COLUMN_RE.finditer(condition)} - {alias}
        if table not in tenant or not any(aliases.get(o) in tenant for o in others):
            continue
        if not _TENANT_PAIR_RE.search(condition):
            found.append(f"JOIN {table} ON ({condition})")
    return found
