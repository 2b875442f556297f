"""Template filters of the one formatting rule (``spm.formatting``).

Loaded on every template (a builtin in settings): ``{{ deal.amount|money }}``,
``{{ total|money:0 }}`` (whole units), ``{{ n|number }}``, ``{{ ratio|percent }}``,
``{{ stage.probability|percent_of:0 }}``, ``{{ day|day }}``, ``{{ moment|moment }}``,
``{{ deal.amount|money_in:deal.currency }}``.
They format for the tenant in context.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from django import template

from spm.formatting import current_formats

register = template.Library()


@register.filter
def money(value: Decimal | None, places: int = 2) -> str:
    return current_formats().money(value, int(places))


@register.filter
def number(value: Decimal | None, places: int = 0) -> str:
    return current_formats().number(value, int(places))


@register.filter
def percent(ratio: Decimal | None, places: int = 2) -> str:
    return current_formats().percent(ratio, int(places))


@register.filter
def percent_of(value: Decimal | None, places: int = 2) -> str:
    return current_formats().percent_of(value, int(places))


@register.filter
def day(value: dt.date | None) -> str:
    return current_formats().date(value)


@register.filter
def moment(value: dt.datetime | None) -> str:
    return current_formats().datetime(value)


@register.filter
def money_in(value: Decimal | None, currency: str) -> str:
    """Money in another currency than the tenant's: ``{{ deal.amount|money_in:deal.currency }}``."""
    return replace(current_formats(), currency=currency).money(value)
