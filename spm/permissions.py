"""The role sets that views declare (``allowed_roles``, ``read_roles``,
``write_roles``) and the reach model builds on. Free of models so app configs
can import it; what a role may see is decided in ``spm.reach``."""

from __future__ import annotations

from spm.roles import Role

ALL_ROLES = frozenset(Role.values)
ADMIN = frozenset({Role.ADMIN})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
READ_ALL = frozenset({Role.ADMIN, Role.FINANCE})
FINANCE = frozenset({Role.FINANCE})
SELLERS = frozenset({Role.ADMIN, Role.MANAGER, Role.REP})
NOT_REPS = frozenset({Role.ADMIN, Role.MANAGER, Role.FINANCE})
