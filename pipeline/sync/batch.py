"""The whole bulk upsert: load, validate, write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.models import (
    ChangeSource,
)
from pipeline.sync.lookups import load_lookups
from pipeline.sync.results import BatchInvalid, UpsertResult
from pipeline.sync.validation import validate
from pipeline.sync.writing import write
from spm.models import Membership, Tenant


def upsert(
    tenant: Tenant,
    kind: str,
    rows: Sequence[tuple[int, dict[str, Any]]],
    *,
    actor: Membership | None,
    via: str = ChangeSource.SYNC,
    all_or_nothing: bool = True,
) -> UpsertResult:
    """Validate and write ``rows`` of ``kind``. With ``all_or_nothing`` (the
    default) any bad row raises ``BatchInvalid`` with every error and nothing
    is written; otherwise bad rows are skipped and reported in the result."""
    lookups = load_lookups(tenant, kind, rows)
    validated = validate(lookups, rows)
    if validated.errors and all_or_nothing:
        raise BatchInvalid(validated.errors)
    return write(tenant, validated, actor=actor, via=via)
