"""The one formatting rule for what people read: money, numbers, percentages, dates.

Every template (through the ``spm_format`` filters) and every chart (through
``Formats.plotly``) formats with the conventions of the tenant's locale and
its currency: ``en-US`` writes 1,234,567.50 and Feb 15, 2027; ``de-DE``
writes 1.234.567,50 and 15.02.2027. Values are rounded half-up, like money
everywhere else (``spm.money``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from django.db import models
from django.utils import timezone

from spm.money import round_half_up
from spm.tenancy.context import current_tenant

DASH: Final = "—"


class Locale(models.TextChoices):
    EN_US = "en-US", "English (US): 1,234.56 · Feb 15, 2027"
    EN_GB = "en-GB", "English (UK): 1,234.56 · 15 Feb 2027"
    DE_DE = "de-DE", "German: 1.234,56 · 15.02.2027"
    FR_FR = "fr-FR", "French: 1 234,56 · 15/02/2027"


@dataclass(frozen=True)
class Conventions:
    decimal: str
    group: str
    date: str  # {mon} month abbreviation, {d} day, {dd} day in two digits, {mm}, {yyyy}
    symbol_first: bool  # "$1.00" rather than "1,00 $"
    percent_space: bool  # "55,56 %" rather than "55.56%"


CONVENTIONS: Final[dict[str, Conventions]] = {
    Locale.EN_US: Conventions(".", ",", "{mon} {d}, {yyyy}", True, False),
    Locale.EN_GB: Conventions(".", ",", "{d} {mon} {yyyy}", True, False),
    Locale.DE_DE: Conventions(",", ".", "{dd}.{mm}.{yyyy}", False, True),
    # A narrow no-break space groups thousands in French.
    Locale.FR_FR: Conventions(",", "\u202f", "{dd}/{mm}/{yyyy}", False, True),
}
SYMBOLS: Final[dict[str, str]] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _quantize(value: Decimal, places: int) -> Decimal:
    return round_half_up(value, Decimal(1).scaleb(-places))


@dataclass(frozen=True)
class Formats:
    """A tenant's formatting: its locale's conventions and its currency."""

    locale: str = Locale.EN_US
    currency: str = ""

    @property
    def conventions(self) -> Conventions:
        return CONVENTIONS.get(self.locale, CONVENTIONS[Locale.EN_US])

    @property
    def symbol(self) -> str:
        return SYMBOLS.get(self.currency, self.currency)

    def number(self, value: Decimal | int | float | None, places: int = 0) -> str:
        """1234567.5 -> '1,234,568' (places=0) or '1,234,567.50' (places=2)."""
        if value is None or value == "":
            return DASH
        amount = _quantize(Decimal(str(value)), places)
        if amount == 0:
            amount = abs(amount)  # never "-0.00"
        text = f"{abs(amount):,.{places}f}"
        c = self.conventions
        text = text.replace(",", "\x00").replace(".", c.decimal).replace("\x00", c.group)
        return f"-{text}" if amount < 0 else text

    def money(self, value: Decimal | int | float | None, places: int = 2) -> str:
        """Money with its currency: '$1,234.56', '1.234,56 €', 'CHF 1,234.56'."""
        if value is None or value == "":
            return DASH
        text = self.number(value, places)
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        symbol = self.symbol
        if not symbol:
            return text
        if self.conventions.symbol_first:
            gap = "" if len(symbol) == 1 else "\u00a0"
            return f"{sign}{symbol}{gap}{digits}"
        return f"{sign}{digits}\u00a0{symbol}"

    def percent(self, ratio: Decimal | int | float | None, places: int = 2) -> str:
        """A ratio as a percentage: 0.5555555556 -> '55.56%' ('55,56 %' in de-DE)."""
        if ratio is None or ratio == "":
            return DASH
        return self.percent_of(Decimal(str(ratio)) * 100, places)

    def percent_of(self, hundredths: Decimal | int | float | None, places: int = 2) -> str:
        """A value already in percent: 60 -> '60%' (places=0)."""
        if hundredths is None or hundredths == "":
            return DASH
        space = "\u00a0" if self.conventions.percent_space else ""
        return f"{self.number(hundredths, places)}{space}%"

    def date(self, value: dt.date | None) -> str:
        """The one date format of the locale: 'Feb 15, 2027', '15.02.2027'."""
        if value is None or value == "":
            return DASH
        return self.conventions.date.format(
            mon=MONTHS[value.month - 1],
            d=value.day,
            dd=f"{value.day:02d}",
            mm=f"{value.month:02d}",
            yyyy=value.year,
        )

    def datetime(self, value: dt.datetime | None) -> str:
        """A moment in the current time zone: 'Feb 15, 2027 14:05'."""
        if value is None or value == "":
            return DASH
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return f"{self.date(local.date())} {local:%H:%M}"

    def plain(self, text: str) -> str:
        """What a person typed, in this locale, as a plain decimal string:
        '1.292.000,50' (de-DE) -> '1292000.50'; text that is no number stays
        as typed (the caller reports it)."""
        c = self.conventions
        cleaned = text.strip().replace(c.group, "").replace(" ", "").replace("\u00a0", "")
        if c.decimal != ".":
            cleaned = cleaned.replace(".", "").replace(c.decimal, ".")
        return cleaned

    def plotly(self) -> dict[str, Any]:
        """What a plotly figure needs to write numbers the same way."""
        c = self.conventions
        symbol = self.symbol
        prefix = symbol if c.symbol_first and symbol else ""
        suffix = f" {symbol}" if symbol and not c.symbol_first else ""
        return {
            "separators": c.decimal + (c.group if c.group != "\u202f" else " "),
            "money_prefix": prefix,
            "money_suffix": suffix,
        }


def formats_for(tenant: Any | None) -> Formats:
    """The formats of a tenant (``None``: en-US without a currency)."""
    if tenant is None:
        return Formats()
    return Formats(locale=getattr(tenant, "locale", Locale.EN_US), currency=tenant.currency)


def current_formats() -> Formats:
    """The formats of the tenant in context (pages and API run inside one)."""
    return formats_for(current_tenant())
