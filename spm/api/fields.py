"""Serializer fields shared by every API."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.db import models
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


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class DateField(serializers.DateField):
    """A date in JSON as ``YYYY-MM-DD``. A value of that shape that is not a day
    of the calendar (``2025-02-30``) answers "Enter a valid date.", the message
    the query filters give, rather than DRF's "wrong format": the format was right."""

    default_error_messages = {"not_a_day": "Enter a valid date."}

    def to_internal_value(self, value: Any) -> dt.date:
        if isinstance(value, str) and ISO_DATE.fullmatch(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                self.fail("not_a_day")
        return super().to_internal_value(value)


def model_serializers_use_project_fields() -> None:
    """Every ModelSerializer maps a model DateField to ours: one date rule for
    every API body, declared fields and model-derived fields alike."""
    serializers.ModelSerializer.serializer_field_mapping[models.DateField] = DateField
