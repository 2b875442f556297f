"""Value parsers: raw CSV or JSON values to text, numbers, money, dates, choices."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.models import (
    HUNDRED,
)
from pipeline.sync.fields import normalise_header
from pipeline.sync.results import FieldError

MONEY_STRIP = re.compile(r"[\s$€£¥]")
# Commas are thousands separators only between groups of three digits
# ("12,500.00"): "12,50" is refused rather than read as 1250.
COMMA_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _text(value: Any, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise FieldError("Expected text.")
    text = str(value).strip()
    if "\x00" in text:
        raise FieldError("Text cannot contain NUL characters.")
    if len(text) > max_length:
        raise FieldError(f"Use at most {max_length} characters (got {len(text)}).")
    return text


def _decimal(value: Any, *, places: int, what: str = "number") -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise FieldError(f"Expected a {what}.")
    if isinstance(value, int | float):
        raise FieldError(f'Send the {what} as a decimal string, e.g. "1200.50", not a JSON number.')
    text = MONEY_STRIP.sub("", str(value)).removesuffix("%")
    if "," in text:
        if not COMMA_GROUPED.fullmatch(text) and re.fullmatch(r"[+-]?[\d,]+(\.\d*)?", text):
            raise FieldError(
                f"'{value}' is not a valid {what}: write it as 12500.00 or 12,500.00 "
                "(a decimal comma is read only in semicolon-separated files)."
            )
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FieldError(f"'{value}' is not a valid {what}.") from None
    if not number.is_finite() or abs(number) >= Decimal("1e16"):
        raise FieldError(f"'{value}' is not a valid {what}.")
    quantized = number.quantize(Decimal(1).scaleb(-places))
    if number != quantized:
        raise FieldError(f"'{value}' has more than {places} decimals.")
    return quantized


def _money(value: Any) -> Decimal | None:
    number = _decimal(value, places=2, what="amount")
    if number is not None and number < 0:
        raise FieldError(f"The amount cannot be negative (got {value}).")
    if number is not None and abs(number) >= Decimal("1e16"):
        raise FieldError(f"The amount {value} is too large.")
    return number


def _percent(value: Any) -> Decimal | None:
    number = _decimal(value, places=2, what="percentage")
    if number is not None and not Decimal("0") <= number <= HUNDRED:
        raise FieldError(f"A percentage is between 0 and 100 (got {value}).")
    return number


def _rate(value: Any) -> Decimal | None:
    number = _decimal(value, places=6, what="rate")
    if number is not None and not Decimal("0") < number < Decimal("1000"):
        raise FieldError(f"An exchange rate is above 0 and below 1000 (got {value}).")
    return number


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y")


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise FieldError("Expected a date as text, e.g. 2027-03-31.")
    text = value.strip()
    # "2027-03-31T10:00:00Z" and "2027-03-31 10:00" (HubSpot exports): the date part.
    if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text):
        text = text[:10]
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    raise FieldError(f"'{value}' is not a date; use YYYY-MM-DD (or MM/DD/YYYY).")


def _choice(value: Any, choices: Iterable[tuple[str, str]], what: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    key = normalise_header(str(value))
    for stored, label in choices:
        if key in (normalise_header(stored), normalise_header(label)):
            return stored
    allowed = ", ".join(label for _, label in choices)
    raise FieldError(f"'{value}' is not a {what}; use one of: {allowed}.")


def _currency(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise FieldError(f"'{value}' is not a three-letter currency code such as USD.")
    return text


def _email(value: Any) -> str:
    text = _text(value, 254)
    if text and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        raise FieldError(f"'{text}' is not an email address.")
    return text.lower()
