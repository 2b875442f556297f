"""period_require_open: the guard of every write of period-keyed figures."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connections

from spm.models import FiscalPeriod
from spm.services import period_close, period_require_open
from spm.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _month(tenant, number: int) -> FiscalPeriod:
    return FiscalPeriod.objects.get(tenant=tenant, kind="month", fiscal_year=2027, number=number)


def test_open_periods_pass_and_a_closed_one_is_named(world_a, in_tenant_a):
    t = world_a.tenant
    jan, feb = _month(t, 1), _month(t, 2)
    period_require_open(t, period_ids=[jan.pk, feb.pk])
    period_close(t, period=jan, actor=world_a.admin.user)

    with pytest.raises(ValidationError) as caught:
        period_require_open(t, period_ids=[feb.pk, jan.pk], what="its quotas cannot be changed")

    assert caught.value.message_dict == {
        "period": ["Jan 2027 is closed; its quotas cannot be changed."]
    }


def _lock_for_close(tenant_id: int, period_id: int) -> None:
    """What a close does first, from another session, without waiting."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            cursor.execute(
                "SELECT id FROM spm_fiscalperiod WHERE id = %s FOR UPDATE NOWAIT", [period_id]
            )
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_the_guarded_periods_cannot_be_closed_until_the_write_commits(world_a):
    """The guard holds the periods' rows FOR SHARE: a close (FOR UPDATE) from
    another session waits for the write; NOWAIT shows it."""
    t = world_a.tenant
    with tenant_context(t):
        jan = _month(t, 1)

    with tenant_context(t):
        period_require_open(t, period_ids=[jan.pk])
        with pytest.raises(OperationalError, match="could not obtain lock"):
            _lock_for_close(t.pk, jan.pk)

    _lock_for_close(t.pk, jan.pk)
