"""Display filters of the goals pages (formatting only, no rules); numbers go
through the one formatting rule (``spm.formatting``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from goals.models import MONEY_METRICS, PERCENT_METRICS, Goal
from spm.formatting import current_formats
from spm.versioning import etag_for

register = template.Library()


@register.filter
def goal_value(value: Decimal | None, goal: Goal) -> str:
    """A goal's target or measured value in its metric's unit: money with its
    currency ('$16,164,000.00'), percentages ('45%'), counts and manual
    measures with the decimals they have ('20', '12.5 calls' is unit-free here)."""
    formats = current_formats()
    if value is None or value == "":
        return formats.number(None)
    amount = Decimal(value)
    if goal.metric in MONEY_METRICS:
        return formats.money(amount)
    places = max(0, -amount.normalize().as_tuple().exponent)  # type: ignore[operator]
    if goal.metric in PERCENT_METRICS:
        return formats.percent_of(amount, min(places, 2))
    return formats.number(amount, min(places, 4))


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key)


@register.filter
def record_version(record: Any) -> str:
    """The version a grid cell sends back with its edit (``spm.versioning``);
    empty for an empty cell."""
    return "" if record is None else etag_for(record)
