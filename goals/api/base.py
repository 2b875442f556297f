"""Shared pieces of the goals API: field kwargs and the CRUD viewset base."""

from __future__ import annotations

from rest_framework import mixins

from goals.models import (
    QuotaSource,
)
from spm.api.base import TenantGenericViewSet
from spm.api.csv import CsvListModelMixin

SOURCE_HELP = "How it was set: " + ", ".join(QuotaSource.values)


class CrudViewSet(
    CsvListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantGenericViewSet,
):
    """List, retrieve, create, update, delete on the tenant base."""
