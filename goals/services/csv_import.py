"""Import of the quota grid's CSV, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from goals import csvio, selectors
from goals.models import (
    QuotaSource,
)
from goals.services.quotas import (
    QUOTAS_FROZEN,
    QuotaInput,
    _lock_quotas,
    _upsert_quotas,
    _validate_quota_input,
)
from spm.models import Membership, Tenant
from spm.services import audit_record, period_require_open


@dataclass
class ImportResult:
    cells: int
    changed: int
    errors: list[str]


def quota_import_csv(
    tenant: Tenant, *, actor: Membership, fiscal_year: int, kind: str, measure: str, text: str
) -> ImportResult:
    """Import the quota grid's CSV (format in ``goals.csvio``), all or nothing.

    Only the teams and reps of ``actor``'s grid can be named. Returns the
    number of cells read and of quotas changed, or the errors (line and
    column named) with nothing written.
    """
    grid = selectors.quota_grid(
        tenant, viewer=actor, fiscal_year=fiscal_year, kind=kind, measure=measure
    )
    rows = {row.key: row for row in grid.rows()}
    periods = {p.label: p for p in grid.periods}
    parsed = csvio.parse_grid_csv(text, period_labels=list(periods), keys=set(rows))
    errors = list(parsed.errors)
    scope = selectors.quota_scope(tenant, viewer=actor)
    items = []
    for cell in parsed.cells:
        row = rows[cell.key]
        item = QuotaInput(
            period=periods[cell.period_label],
            amount=cell.amount,
            membership=row.membership,
            team=row.team,
            measure=measure,
        )
        current = row.cells[grid.periods.index(item.period)].amount
        if current == item.amount:
            continue
        for message in _validate_quota_input(tenant, scope, item).values():
            errors.append(f"Line {cell.line}, {cell.period_label}: {message}")
        items.append(item)
    if errors:
        return ImportResult(cells=len(parsed.cells), changed=0, errors=errors)
    if items:
        with transaction.atomic():
            _lock_quotas(tenant)
            try:
                period_require_open(
                    tenant, period_ids=(i.period.pk for i in items), what=QUOTAS_FROZEN
                )
            except ValidationError as exc:
                return ImportResult(len(parsed.cells), 0, exc.messages)
            _upsert_quotas(tenant, actor=actor, items=items, source=QuotaSource.IMPORTED)
            audit_record(
                tenant,
                actor=actor.user,
                action="quota.import",
                data={"fiscal_year": fiscal_year, "kind": kind, "changed": len(items)},
            )
    return ImportResult(cells=len(parsed.cells), changed=len(items), errors=[])
