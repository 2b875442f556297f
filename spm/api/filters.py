"""Filters shared by every API: ids and whole numbers typed as integers, and a
strict ``?ordering=``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters as drf_filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


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


class OrderingFilter(drf_filters.OrderingFilter):
    """DRF's ``?ordering=``, strict: a field the endpoint does not order by is a
    400 naming ``ordering`` and listing the fields it does (DRF would ignore
    it silently, and a client would read a list in an order it did not get)."""

    def remove_invalid_fields(
        self, queryset: QuerySet, fields: Iterable[str], view: Any, request: Request
    ) -> list[str]:
        terms = list(fields)
        valid = [item[0] for item in self.get_valid_fields(queryset, view, {"request": request})]
        unknown = [term for term in terms if term.removeprefix("-") not in valid]
        if unknown:
            raise ValidationError(
                {
                    "ordering": f"Cannot order by {', '.join(repr(t) for t in unknown)}; "
                    f"order by one of: {', '.join(valid) or 'nothing'} "
                    "(prefix '-' for descending)."
                }
            )
        return terms
