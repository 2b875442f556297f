"""The rep's commission estimate for a period (``incentives.engine.estimator``).

Reads the period's run inputs (credits as of the last refresh, quotas,
what was paid before) for the member's plan version, and adds the member's
picked open deals (their amounts, credited in full to their owner) and a
typed amount as credits on the period's last day."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from incentives.engine.estimator import Estimate, estimate
from incentives.selectors import run_inputs
from pipeline.models import Deal, DealStatus
from spm.models import FiscalPeriod, Membership, Tenant


def current_month(tenant: Tenant) -> FiscalPeriod | None:
    """The month containing today in the tenant's time zone."""
    today = timezone.localdate(timezone=ZoneInfo(tenant.time_zone))
    return FiscalPeriod.objects.filter(
        tenant=tenant, kind="month", start__lte=today, end__gte=today
    ).first()


def open_deals_of(tenant: Tenant, *, membership: Membership) -> QuerySet[Deal]:
    """The member's open deals, by expected close."""
    return Deal.objects.filter(tenant=tenant, owner=membership, status=DealStatus.OPEN).order_by(
        "expected_close_date", "id"
    )


def commission_estimate(
    tenant: Tenant,
    *,
    membership: Membership,
    period: FiscalPeriod,
    deal_ids: list[int],
    amount: Decimal | None,
) -> Estimate | None:
    """``membership``'s commission in ``period`` if ``deal_ids`` (their own
    open deals) and ``amount`` were won on its last day; None when no plan is
    assigned to them in the period.

    Raises ``ValidationError`` on ``deals`` (not the member's open deals) or
    ``amount`` (negative)."""
    if amount is not None and amount < 0:
        raise ValidationError({"amount": "Enter an amount of 0 or more."})
    deals = list(open_deals_of(tenant, membership=membership).filter(pk__in=deal_ids))
    missing = sorted(set(deal_ids) - {d.pk for d in deals})
    if missing:
        raise ValidationError(
            {"deals": f"Not open deals of yours: {', '.join(str(m) for m in missing)}."}
        )
    mine = next(
        (
            p
            for p in run_inputs(tenant, period=period)
            if membership.pk in set(p.inputs.members["member_id"])
        ),
        None,
    )
    if mine is None:
        return None
    what_if: list[tuple[int | None, str, Decimal]] = [(d.pk, d.name, d.amount) for d in deals]
    if amount:
        what_if.append((None, "typed amount", amount))
    return estimate(mine.document, mine.inputs, member_id=membership.pk, what_if=what_if)
