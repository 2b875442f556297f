"""SPM's database backend: Django's PostgreSQL backend, fitted to tenant-led keys.

A tenant table's database primary key is ``(tenant_id, id)``
(``spm/db/tenant_keys.py``), which changes two things Django assumes:

- PostgreSQL (and Citus) accept ``GROUP BY t.id`` with t's other columns
  selected only when ``id`` alone is the primary key; for tenant models the
  backend turns Django's group-by-primary-key shortcut off, so such queries
  group by every selected column (``features.py``);
- Citus routes an ``UPDATE`` or ``DELETE`` by the tenant in its ``WHERE``:
  statements on tenant tables carry the current tenant (``compiler.py``).

The same backend serves plain PostgreSQL and Citus.
"""
