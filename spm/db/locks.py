"""Advisory locks: "one run at a time" per (tenant, key) lives in the database."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection


class LockBusyError(ValidationError):
    """Another transaction holds the lock: a refusal naming the field for a
    person, and a transient fault for a task, which retries it with backoff
    (a redelivered task can arrive while its killed worker's session still
    holds the lock)."""


def lock_key(name: str) -> int:
    """A stable 32-bit key for a lock name (crc32 fits PostgreSQL's int4)."""
    return zlib.crc32(name.encode()) - 2**31


def advisory_xact_lock(tenant_id: int, name: str) -> None:
    """Wait for, then hold until the current transaction ends, the
    transaction-scoped advisory lock on (tenant, name). Call inside ``atomic()``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [tenant_id, lock_key(name)])


def try_advisory_xact_lock(tenant_id: int, name: str) -> bool:
    """Take a transaction-scoped advisory lock on (tenant, name) if free.

    Returns False at once when another transaction holds it. The lock is
    released when the current transaction ends. Call inside ``atomic()``.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [tenant_id, lock_key(name)])
        row = cursor.fetchone()
    return bool(row and row[0])


@contextmanager
def tenant_session_lock(tenant_id: int, name: str) -> Iterator[bool]:
    """Take the session-level advisory lock on (tenant, name) if free and hold
    it while the block runs, across the block's transactions; yields whether
    it was taken. A process that dies holds nothing: its session ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [tenant_id, lock_key(name)])
        row = cursor.fetchone()
    taken = bool(row and row[0])
    try:
        yield taken
    finally:
        if taken:
            _session_unlock(tenant_id, name)


def _session_unlock(tenant_id: int, name: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [tenant_id, lock_key(name)])
    except DatabaseError:
        # The connection broke (a terminated backend): closing it ends the
        # session, and the session's locks with it.
        connection.close()
