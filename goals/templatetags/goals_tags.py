"""Display filters of the goals pages (formatting only, no rules)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from goals.engine import percent

register = template.Library()


@register.filter
def money(value: Decimal | None) -> str:
    """12345.5 -> '12,345.50'; None -> ''."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value):,.2f}"


@register.filter
def pct(value: Decimal | None) -> str:
    """A fraction as a percentage: 0.805 -> '80.5%'; None -> '—'."""
    if value is None or value == "":
        return "—"
    return percent(Decimal(value))


@register.filter
def number(value: Decimal | None) -> str:
    """A measured value without trailing zeros: 15.0000 -> '15'."""
    if value is None or value == "":
        return "—"
    text = format(Decimal(value).normalize(), "f")
    return text


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key)
