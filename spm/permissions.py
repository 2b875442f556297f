"""Role checks shared by pages and the API (DESIGN.md, Roles)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spm.roles import Role

if TYPE_CHECKING:
    from spm.models import Membership

ALL_ROLES = frozenset(Role.values)
ADMIN = frozenset({Role.ADMIN})
ADMIN_FINANCE = frozenset({Role.ADMIN, Role.FINANCE})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
READ_ALL = frozenset({Role.ADMIN, Role.FINANCE})


def has_role(membership: Membership | None, roles: frozenset[str]) -> bool:
    return membership is not None and membership.role in roles


def is_admin(membership: Membership | None) -> bool:
    return has_role(membership, ADMIN)


def can_read_all(membership: Membership | None) -> bool:
    """Admins and finance read every figure of the tenant."""
    return has_role(membership, READ_ALL)


def can_manage_people(membership: Membership | None) -> bool:
    return is_admin(membership)
