"""Helpers shared by the pipeline services: the tenant's today, the acting
user, full_clean and field application, membership and external-id checks,
and the pieces of the domain events they publish (``spm.events``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone

from pipeline.models import Activity, Deal, DealStatus
from spm import events
from spm.models import Membership, Tenant


def tenant_today(tenant: Tenant) -> dt.date:
    """Today's date in the tenant's time zone."""
    return timezone.now().astimezone(ZoneInfo(tenant.time_zone)).date()


def _user(actor: Membership | None) -> Any:
    return actor.user if actor is not None else None


def _raise_from_full_clean(obj: Any, exclude: list[str]) -> None:
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def _check_member(tenant: Tenant, field: str, member: Membership | None) -> None:
    if member is not None and member.tenant_id != tenant.pk:
        raise ValidationError({field: "Choose a member of this tenant."})


def _apply(obj: Any, fields: dict[str, Any]) -> dict[str, list[str]]:
    changes: dict[str, list[str]] = {}
    for name, value in fields.items():
        old = getattr(obj, name)
        if old != value:
            changes[name] = [str(old), str(value)]
            setattr(obj, name, value)
    return changes


def _check_external_id(tenant: Tenant, model: Any, external_id: str | None, pk: int | None) -> None:
    if not external_id:
        return
    clash = model.objects.filter(tenant=tenant, external_id=external_id)
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if clash.exists():
        raise ValidationError(
            {"external_id": f"Another record already has external id '{external_id}'."}
        )


def deal_figures(deal: Deal) -> events.DealFigures:
    """The deal's figures as the deal events carry them (no query)."""
    counts_on = deal.expected_close_date
    if deal.status != DealStatus.OPEN and deal.close_date is not None:
        counts_on = deal.close_date
    return events.DealFigures(
        deal_id=deal.pk,
        status=deal.status,
        counts_on=counts_on,
        close_date=deal.close_date,
        expected_close_date=deal.expected_close_date,
        stage_id=deal.stage_id,
        owner_id=deal.owner_id,
        base_amount=deal.base_amount,
        probability=deal.probability,
    )


# (id, old, new): old is None for a created row, new None for a deleted one.
DayChange = tuple[int, dt.date | None, dt.date | None]
# (id, (old customer since, old churned on), (new customer since, new churned on))
AccountChange = tuple[
    int, tuple[dt.date | None, dt.date | None], tuple[dt.date | None, dt.date | None]
]


def publish_activities_written(tenant: Tenant, rows: Iterable[DayChange]) -> None:
    """One ActivityWritten with every (id, old day, new day) of ``rows``, if any."""
    activities = tuple(
        events.ActivityRow(activity_id=pk, old_occurred_on=old, new_occurred_on=new)
        for pk, old, new in rows
    )
    if activities:
        events.publish(events.ActivityWritten(tenant_id=tenant.pk, activities=activities))


def publish_leads_written(tenant: Tenant, rows: Iterable[DayChange]) -> None:
    """One LeadWritten with every (id, old awareness day, new one) of ``rows``, if any."""
    leads = tuple(
        events.LeadRow(lead_id=pk, old_awareness_on=old, new_awareness_on=new)
        for pk, old, new in rows
    )
    if leads:
        events.publish(events.LeadWritten(tenant_id=tenant.pk, leads=leads))


def publish_accounts_written(tenant: Tenant, rows: Iterable[AccountChange]) -> None:
    """One AccountWritten with every account of ``rows``, if any."""
    accounts = tuple(
        events.AccountRow(
            account_id=pk,
            old_customer_since=old[0],
            new_customer_since=new[0],
            old_churned_on=old[1],
            new_churned_on=new[1],
        )
        for pk, old, new in rows
    )
    if accounts:
        events.publish(events.AccountWritten(tenant_id=tenant.pk, accounts=accounts))


def publish_activities_removed(tenant: Tenant, **owner: Any) -> None:
    """Before a deal, lead or account is deleted (``owner`` is its filter, e.g.
    ``deal=deal``): publish the activities the cascade takes along (one query)."""
    removed = Activity.objects.filter(tenant=tenant, **owner).values_list("pk", "occurred_on")
    publish_activities_written(tenant, ((pk, day, None) for pk, day in removed))
