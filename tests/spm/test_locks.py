"""Advisory locks: the blocking helper holds (tenant, name) until the
transaction ends; the try-lock answers at once."""

from __future__ import annotations

import pytest
from django.db import connections, transaction

from spm.db.locks import advisory_xact_lock, lock_key, try_advisory_xact_lock

pytestmark = pytest.mark.django_db


def _held_elsewhere(tenant_id: int, name: str) -> bool:
    """Whether another session cannot take the lock now."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [tenant_id, lock_key(name)])
            return not cursor.fetchone()[0]
    finally:
        other.close()


def test_the_blocking_lock_is_held_until_the_transaction_ends(world_a):
    tenant_id = world_a.tenant.pk

    with transaction.atomic():
        advisory_xact_lock(tenant_id, "goals.quotas")

        assert _held_elsewhere(tenant_id, "goals.quotas") is True
        assert _held_elsewhere(tenant_id, "pipeline.import") is False
        assert _held_elsewhere(tenant_id + 1, "goals.quotas") is False


def test_the_try_lock_takes_a_free_lock_and_is_reentrant_in_its_session(world_a):
    tenant_id = world_a.tenant.pk

    with transaction.atomic():
        assert try_advisory_xact_lock(tenant_id, "kpis.period.1") is True
        assert try_advisory_xact_lock(tenant_id, "kpis.period.1") is True
        assert _held_elsewhere(tenant_id, "kpis.period.1") is True
