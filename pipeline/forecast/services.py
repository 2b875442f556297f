"""Writes of forecasting: a deal's category set by its owner (recorded in the
category history) and calls submitted per member and period
(docs/formulas.md section 7).

Services take the tenant first and keyword-only arguments, own their
transaction, write an audit row, and raise ``ValidationError`` naming the
field at fault; nothing is saved when they raise.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pipeline.forecast.selectors import ZERO, forecast_rollup, forecast_tree
from pipeline.models import ChangeSource, Deal, DealStatus, ForecastCall, ForecastCategory
from pipeline.services import deal_update
from spm import events
from spm.models import FiscalPeriod, Membership, Tenant
from spm.money import round_half_up
from spm.reach import Reach
from spm.services import audit_record, period_require_open

MAX_CALL = Decimal("9999999999999999.99")


def deal_category_set(
    tenant: Tenant,
    *,
    deal: Deal,
    category: str,
    actor: Membership | None,
    via: str = ChangeSource.PAGE,
) -> Deal:
    """Override an open deal's forecast category (its stage gives the default);
    the change goes into the category history. Raises ValidationError on
    ``forecast_category`` (unknown category, closed deal) or on ``owner``
    (the actor may not change the deal)."""
    if category not in ForecastCategory.values:
        choices = ", ".join(ForecastCategory.values)
        raise ValidationError(
            {"forecast_category": f"'{category}' is not a forecast category (use {choices})."}
        )
    if deal.status != DealStatus.OPEN:
        raise ValidationError(
            {"forecast_category": "A closed deal has no forecast category: won counts as closed."}
        )
    if actor is not None and not Reach(actor).may_write_deal(deal):
        raise ValidationError({"owner": "Only the deal's owner or their manager may change it."})
    return deal_update(tenant, deal=deal, actor=actor, via=via, forecast_category=category)


def _money(value: Any, field: str) -> Decimal:
    """``value`` as a Decimal of cents, or a ValidationError naming ``field``."""
    if isinstance(value, bool):
        raise ValidationError({field: "Enter a number."})
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: "Enter a number."}) from None
    if not amount.is_finite():
        raise ValidationError({field: "Enter a number."})
    if abs(amount) > MAX_CALL:
        raise ValidationError({field: "Enter an amount below 10 quadrillion."})
    return round_half_up(amount)


def _check_may_call(actor: Membership | None, member: Membership) -> None:
    """A member submits their own call; a manager (or an admin) may also
    submit for someone they manage. Anyone else is refused on ``member``."""
    if actor is None or actor.pk == member.pk:
        return
    if not Reach(actor).manage_ids.has_member(member.pk):
        raise ValidationError(
            {"member": "You can only submit or adjust calls of your own subtree."}
        )


def forecast_call_submit(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    actor: Membership | None,
    member: Membership | None = None,
    amount: Any = None,
    adjustment: Any = None,
    note: str = "",
) -> ForecastCall:
    """Submit ``member``'s call for ``period`` (default: the actor's own); a
    resubmission adds a row, the history stays.

    A member without reports (a rep) submits ``amount`` (default closed +
    commit); the roll-up is their closed + commit and the adjustment the
    difference. A manager's roll-up is the sum of their direct reports'
    current calls (and their own deals' closed + commit); they submit an
    ``adjustment`` (or an ``amount``, the adjustment being the difference).

    Raises ValidationError naming the field: ``member`` outside the actor's
    subtree or of another tenant, ``period`` closed or of another tenant,
    ``amount`` / ``adjustment`` not a number or making the call negative.
    """
    member = member or actor
    if member is None:
        raise ValidationError({"member": "Say whose call this is."})
    if member.tenant_id != tenant.pk:
        raise ValidationError({"member": "Choose a member of this tenant."})
    if period.tenant_id != tenant.pk:
        raise ValidationError({"period": "Choose a period of this tenant."})
    _check_may_call(actor, member)
    given_amount = _money(amount, "amount") if amount not in (None, "") else None
    given_adjustment = _money(adjustment, "adjustment") if adjustment not in (None, "") else None
    with transaction.atomic():
        period_require_open(tenant, period_ids=[period.pk], what="its calls cannot be changed")
        tree = forecast_tree(tenant, under=member.pk)
        if member.pk not in tree.members:
            raise ValidationError({"member": "This member is not active."})
        row = forecast_rollup(tenant, period=period, tree=tree, under=member.pk).row(member.pk)
        rollup = row.rollup
        if given_adjustment is not None:
            final = rollup + given_adjustment
            field = "adjustment"
        elif given_amount is not None:
            final = given_amount
            field = "amount"
        elif row.has_reports:
            final = rollup + (row.submitted.adjustment if row.submitted else ZERO)
            field = "adjustment"
        else:
            final = rollup
            field = "amount"
        if final < 0:
            raise ValidationError({field: f"A call cannot be below zero (this makes it {final})."})
        call = ForecastCall.objects.create(
            tenant=tenant,
            period=period,
            member=member,
            rollup=rollup,
            adjustment=final - rollup,
            amount=final,
            note=note.strip(),
            submitted_at=timezone.now(),
            submitted_by=actor,
        )
        audit_record(
            tenant,
            actor=actor.user if actor is not None else None,
            action="forecast.call_submit",
            obj=call,
            data={
                "period": period.label,
                "member": member.pk,
                "rollup": str(call.rollup),
                "adjustment": str(call.adjustment),
                "amount": str(call.amount),
            },
        )
        events.publish(
            events.ForecastSubmitted(
                tenant_id=tenant.pk,
                forecast_id=call.pk,
                membership_id=member.pk,
                period_id=period.pk,
                amount=call.amount,
            )
        )
    return call
