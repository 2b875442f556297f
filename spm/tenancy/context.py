"""The current tenant, per request and per task.

The tenant lives in a ContextVar (set explicitly by the middleware or by a task
wrapper, never inherited from a thread-local) and, for the database wall, in
the transaction-local PostgreSQL setting ``app.tenant_id`` that the Row Level
Security policies read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
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


def _set_local(name: str, value: int | None, using: str) -> None:
    """``SET LOCAL name = 'value'`` ('' when None). SET takes no bind
    parameters, so the value is formatted here: it is an integer id, never
    text from outside."""
    text = "" if value is None else str(int(value))
    with connections[using].cursor() as cursor:
        cursor.execute(f"SET LOCAL {name} = '{text}'")


def set_db_user(user_id: int | None, using: str = "default") -> None:
    """Let RLS show this user's own memberships in every tenant (tenant switcher).

    Must be called inside a transaction: the setting is transaction-local.
    """
    _set_local(USER_SETTING, user_id, using)


@contextmanager
def tenant_context(tenant: Tenant, using: str = "default") -> Iterator[Tenant]:
    """Enter ``tenant`` for the ORM's scoped managers and for RLS.

    The database side is ``SET LOCAL app.tenant_id``, which lives as long as
    the transaction; Citus carries it to the workers (with
    ``citus.propagate_set_commands = 'local'``, which ``manage.py
    citus_distribute`` sets for the database). Outside a transaction this
    opens one and sets the tenant in it. Inside one (a request, a task, an
    outer context) it sets the tenant first, in the enclosing transaction,
    then opens a savepoint for the block: the setting is never made inside a
    savepoint that is released while later queries still need it (Citus
    drops a ``SET LOCAL`` when its savepoint is released; PostgreSQL keeps
    it). On exit the previous tenant is set again, so nested contexts behave.
    """
    connection = connections[using]
    nested = connection.in_atomic_block
    previous = _current_tenant.get()
    with nullcontext() if nested else transaction.atomic(using=using):
        _set_local(TENANT_SETTING, tenant.pk, using)
        token = _current_tenant.set(tenant)
        try:
            with transaction.atomic(using=using) if nested else nullcontext():
                yield tenant
        finally:
            _current_tenant.reset(token)
            if nested and not connection.needs_rollback:
                _set_local(TENANT_SETTING, None if previous is None else previous.pk, using)
