"""Serializer fields shared by every API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from spm.money import MONEY_KWARGS


class MoneyField(serializers.DecimalField):
    """Money in JSON: a decimal string (``"1200.50"``), never a JSON number (a
    float cannot carry cents exactly, so one rule refuses every number);
    ``-0.00`` is stored as ``0.00``. NUMERIC(18,2) unless told otherwise."""

    default_error_messages = {
        "json_number": 'Send the amount as a decimal string, e.g. "1200.50", not a JSON number.',
    }

    def __init__(self, **kwargs: Any) -> None:
        for key, value in MONEY_KWARGS.items():
            kwargs.setdefault(key, value)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, int | float):
            self.fail("json_number")
        value = super().to_internal_value(data)
        return abs(value) if value == 0 else value
