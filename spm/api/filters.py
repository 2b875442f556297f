"""Filters shared by every API: ids and whole numbers typed as integers."""

from __future__ import annotations

from typing import Any

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(filters.NumberFilter):
    """A whole number (``1.5`` or ``abc`` is a 400 naming the filter), typed
    ``integer`` in the schema."""

    field_class = forms.IntegerField


class IdFilter(IntegerFilter):
    """An id: a whole number in the range of a database id (else 400, not a 500)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)
