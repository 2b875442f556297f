"""Shared pieces of the goals API."""

from __future__ import annotations

from goals.models import (
    QuotaSource,
)

SOURCE_HELP = "How it was set: " + ", ".join(QuotaSource.values)
