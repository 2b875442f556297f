"""The exchange-rate table (monthly rates per currency) and the conversion of
a deal's amount to the tenant currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from pipeline.models import (
    Deal,
    DealStatus,
    ExchangeRate,
)
from pipeline.services.common import _user
from spm.models import FiscalPeriod, Membership, PeriodKind, Tenant
from spm.money import round_half_up
from spm.services import audit_record, period_require_open

# How a closed month refuses a rate write (``period_require_open``).
RATES_FROZEN = "its exchange rates cannot be changed"


def _check_exchange_rate(
    tenant: Tenant, *, currency: str, period: FiscalPeriod, rate: Decimal, pk: int | None
) -> str:
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise ValidationError({"currency": "Use a three-letter ISO 4217 code, e.g. EUR."})
    if currency == tenant.currency:
        raise ValidationError(
            {"currency": f"{currency} is the tenant's currency; its rate is always 1."}
        )
    if period.tenant_id != tenant.pk or period.kind != PeriodKind.MONTH:
        raise ValidationError({"period": "Choose a month of this tenant's fiscal calendar."})
    if rate is None or rate <= 0:
        raise ValidationError({"rate": "The rate must be above zero."})
    clash = ExchangeRate.objects.filter(tenant=tenant, currency=currency, period=period)
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if clash.exists():
        raise ValidationError(
            {"period": f"{period.label} already has a {currency} rate; edit that one."}
        )
    return currency


def _require_open(tenant: Tenant, *periods: FiscalPeriod) -> None:
    period_require_open(tenant, period_ids=[p.pk for p in periods], what=RATES_FROZEN)


def exchange_rate_create(
    tenant: Tenant,
    *,
    actor: Membership | None,
    currency: str,
    period: FiscalPeriod,
    rate: Decimal,
) -> ExchangeRate:
    """Add a month's rate (units of tenant currency per unit of ``currency``).

    Raises ValidationError naming the field: a bad or the tenant's own
    currency, a period that is not one of the tenant's months, a rate not
    above zero, or a month that already has a rate for the currency.
    Deals saved afterwards use it; stored deals keep their rate until saved.
    A closed month refuses it (``period``).
    """
    with transaction.atomic():
        _require_open(tenant, period)
        currency = _check_exchange_rate(
            tenant, currency=currency, period=period, rate=rate, pk=None
        )
        row = ExchangeRate.objects.create(
            tenant=tenant, currency=currency, period=period, rate=rate
        )
        audit_record(
            tenant,
            actor=_user(actor),
            action="exchange_rate.create",
            obj=row,
            data={"currency": currency, "period": period.label, "rate": str(rate)},
        )
    return row


def exchange_rate_update(
    tenant: Tenant,
    *,
    exchange_rate: ExchangeRate,
    actor: Membership | None,
    **fields: Any,
) -> ExchangeRate:
    """Change a rate's currency, month or rate (same checks as create); the
    month it leaves and the month it goes to must both be open."""
    unknown = set(fields) - {"currency", "period", "rate"}
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    with transaction.atomic():
        row = ExchangeRate.objects.select_for_update().get(tenant=tenant, pk=exchange_rate.pk)
        before = {"currency": row.currency, "period": row.period.label, "rate": str(row.rate)}
        period = fields.get("period", row.period)
        rate = fields.get("rate", row.rate)
        _require_open(tenant, row.period, period)
        row.currency = _check_exchange_rate(
            tenant,
            currency=fields.get("currency", row.currency),
            period=period,
            rate=rate,
            pk=row.pk,
        )
        row.period, row.rate = period, rate
        row.save()
        audit_record(
            tenant,
            actor=_user(actor),
            action="exchange_rate.update",
            obj=row,
            data={
                "before": before,
                "after": {"currency": row.currency, "period": period.label, "rate": str(rate)},
            },
        )
    return row


def exchange_rate_delete(
    tenant: Tenant, *, exchange_rate: ExchangeRate, actor: Membership | None
) -> None:
    """Remove a rate of an open month; deals already converted with it keep
    their rate."""
    with transaction.atomic():
        _require_open(tenant, exchange_rate.period)
        audit_record(
            tenant,
            actor=_user(actor),
            action="exchange_rate.delete",
            obj=exchange_rate,
            data={"currency": exchange_rate.currency, "rate": str(exchange_rate.rate)},
        )
        exchange_rate.delete()


# (currency, first day of the month) -> units of tenant currency per unit.
RateTable = dict[tuple[str, dt.date], Decimal]


def rate_day(deal: Deal) -> dt.date:
    """The day whose month's rate converts ``deal``: its close date once won,
    else its expected close date."""
    if deal.status == DealStatus.WON and deal.close_date is not None:
        return deal.close_date
    return deal.expected_close_date


def exchange_rate_table(tenant: Tenant) -> RateTable:
    """The tenant's whole rate table in one query (tenant months start on the 1st)."""
    return {
        (currency, start): rate
        for currency, start, rate in ExchangeRate.objects.filter(
            tenant=tenant, period__kind=PeriodKind.MONTH
        ).values_list("currency", "period__start", "rate")
    }


def exchange_rate_on(tenant: Tenant, *, currency: str, day: dt.date) -> Decimal | None:
    """The table's rate for ``currency`` in the month containing ``day``, or None."""
    return (
        ExchangeRate.objects.filter(
            tenant=tenant,
            currency=currency,
            period__kind=PeriodKind.MONTH,
            period__start__lte=day,
            period__end__gte=day,
        )
        .values_list("rate", flat=True)
        .first()
    )


def missing_rate_message(tenant: Tenant, *, currency: str, day: dt.date) -> str:
    return (
        f"No exchange rate for {currency} in {day:%B %Y}: add it to the exchange-rate "
        f"table or give the exchange rate (units of {tenant.currency} per {currency})."
    )


def compute_base_amount(
    tenant: Tenant,
    deal: Deal,
    *,
    explicit_rate: bool,
    keep_stored: bool = False,
    rates: RateTable | None = None,
) -> None:
    """Check the currency and rate; set ``base_amount`` (tenant currency).

    A deal in the tenant's currency has rate 1. A deal in another currency
    uses its rate when one was given (``explicit_rate``, above zero); else the
    rate table's rate for the month of ``rate_day(deal)`` (from ``rates`` when
    the caller loaded the table, else one query); else, with ``keep_stored``
    (an existing deal whose currency did not change), the rate it has.
    Raises ValidationError on ``exchange_rate`` naming the currency and month.
    """
    deal.currency = (deal.currency or tenant.currency).upper()
    if deal.currency == tenant.currency:
        deal.exchange_rate = Decimal("1")
    elif explicit_rate:
        if deal.exchange_rate is None or deal.exchange_rate <= 0:
            raise ValidationError(
                {
                    "exchange_rate": (
                        f"Give the exchange rate from {deal.currency} to {tenant.currency} "
                        f"(units of {tenant.currency} per {deal.currency})."
                    )
                }
            )
    else:
        day = rate_day(deal)
        if rates is not None:
            rate = rates.get((deal.currency, day.replace(day=1)))
        else:
            rate = exchange_rate_on(tenant, currency=deal.currency, day=day)
        if rate is not None:
            deal.exchange_rate = rate
        elif not keep_stored:
            raise ValidationError(
                {"exchange_rate": missing_rate_message(tenant, currency=deal.currency, day=day)}
            )
    deal.base_amount = round_half_up(deal.amount * deal.exchange_rate)
