"""The current tenant, per request and per task.

The tenant lives in a ContextVar (set explicitly by the middleware or by a task
wrapper, never inherited from a thread-local) and, for the database wall, in
the transaction-local PostgreSQL setting ``app.tenant_id`` that the Row Level
Security policies read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.db import connections, transaction

if TYPE_CHECKING:
    from spm.models import Tenant

_current_tenant: ContextVar[Tenant | None] = ContextVar("spm_current_tenant", default=None)

TENANT_SETTING = "app.tenant_id"
USER_SETTING = "app.user_id"


class NoTenantError(RuntimeError):
    """Raised where a tenant is required and none is in context."""


def current_tenant() -> Tenant | None:
    return _current_tenant.get()


def require_tenant() -> Tenant:
    tenant = _current_tenant.get()
    if tenant is None:
        raise NoTenantError("No tenant in context: wrap the call in tenant_context(tenant).")
    return tenant


def _set_db_setting(name: str, value: str, using: str) -> str:
    """Set a transaction-local setting and return its previous value ('' if unset)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), set_config(%s, %s, true)",
            [name, name, value],
        )
        row = cursor.fetchone()
    return row[0] if row else ""


def set_db_user(user_id: int | None, using: str = "default") -> None:
    """Let RLS show this user's own memberships in every tenant (tenant switcher).

    Must be called inside a transaction: the setting is transaction-local.
    """
    _set_db_setting(USER_SETTING, "" if user_id is None else str(user_id), using)


@contextmanager
def tenant_context(tenant: Tenant, using: str = "default") -> Iterator[Tenant]:
    """Enter ``tenant`` for the ORM's scoped managers and for RLS.

    Opens a transaction (a savepoint when one is already open) because
    ``set_config(..., true)`` only lives as long as the transaction. On exit the
    previous tenant is restored, so nested contexts behave.
    """
    with transaction.atomic(using=using):
        previous_db = _set_db_setting(TENANT_SETTING, str(tenant.pk), using)
        token = _current_tenant.set(tenant)
        try:
            yield tenant
        except BaseException:
            # The transaction or savepoint rolls back, which restores the setting.
            _current_tenant.reset(token)
            raise
        _current_tenant.reset(token)
        if not connections[using].needs_rollback:
            # (When marked for rollback, the rollback itself restores the setting.)
            _set_db_setting(TENANT_SETTING, previous_db, using)
