"""Accounts: create, update, delete."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db import transaction

from pipeline.models import (
    Account,
    Deal,
)
from pipeline.services.common import (
    _apply,
    _check_external_id,
    _raise_from_full_clean,
    _user,
    publish_accounts_written,
    publish_activities_removed,
)
from pipeline.services.deals import check_owner_allowed
from spm.models import Membership, Tenant
from spm.services import audit_record

ACCOUNT_FIELDS: Final = (
    "name",
    "segment",
    "industry",
    "owner",
    "customer_since",
    "churned_on",
    "external_id",
)


def _check_account_dates(account: Account) -> None:
    if (
        account.churned_on
        and account.customer_since
        and account.churned_on < account.customer_since
    ):
        raise ValidationError(
            {"churned_on": "An account cannot churn before it became a customer."}
        )


def account_create(
    tenant: Tenant, *, actor: Membership | None, name: str, **fields: Any
) -> Account:
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError({f: "Unknown field." for f in sorted(unknown)})
    if fields.get("owner") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["owner"])
    account = Account(tenant=tenant, name=name.strip(), **fields)
    if not account.external_id:
        account.external_id = None
    _check_account_dates(account)
    _raise_from_full_clean(account, exclude=["tenant", "owner"])
    with transaction.atomic():
        _check_external_id(tenant, Account, account.external_id, None)
        account.save()
        audit_record(
            tenant,
            actor=_user(actor),
            action="account.create",
            obj=account,
            data={"name": account.name},
        )
        publish_accounts_written(tenant, [(account.pk, (None, None), _dates(account))])
    return account


def _dates(account: Account) -> tuple[dt.date | None, dt.date | None]:
    return account.customer_since, account.churned_on


def account_update(
    tenant: Tenant, *, account: Account, actor: Membership | None, **fields: Any
) -> Account:
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    if fields.get("owner") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["owner"])
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(tenant=tenant, pk=account.pk)
        old = _dates(locked)
        changes = _apply(locked, fields)
        if not locked.external_id:
            locked.external_id = None
        _check_account_dates(locked)
        _raise_from_full_clean(locked, exclude=["tenant", "owner"])
        _check_external_id(tenant, Account, locked.external_id, locked.pk)
        locked.save()
        if changes:
            audit_record(
                tenant, actor=_user(actor), action="account.update", obj=locked, data=changes
            )
            publish_accounts_written(tenant, [(locked.pk, old, _dates(locked))])
    return locked


def account_delete(tenant: Tenant, *, account: Account, actor: Membership | None) -> None:
    with transaction.atomic():
        if Deal.objects.filter(tenant=tenant, account=account).exists():
            raise ValidationError({"account": f"'{account.name}' has deals; it cannot be deleted."})
        audit_record(
            tenant,
            actor=_user(actor),
            action="account.delete",
            obj=account,
            data={"name": account.name},
        )
        publish_activities_removed(tenant, account=account)
        publish_accounts_written(tenant, [(account.pk, _dates(account), (None, None))])
        account.delete()
