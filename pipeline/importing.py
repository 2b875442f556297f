"""CSV import of accounts, deals, leads and activities.

Flow: upload (``import_batch_create``: the file is parsed and its headers
mapped to our fields, recognising common CRM export names) -> confirm the
mapping (``import_batch_set_mapping``) -> run (``import_batch_start`` queues
``pipeline.tasks.import_run``, which calls ``import_batch_run``). Every row is
validated before anything is written; with ``all_or_nothing`` (the default) a
single bad row means nothing is written and the run's result lists every bad
row with its line number, field and reason. The writes are the set-based bulk
upsert of ``pipeline.sync``, so re-importing a file creates no duplicates.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from pipeline import sync
from pipeline.models import ChangeSource, ImportBatch, ImportKind
from spm import services as core
from spm.db.locks import advisory_xact_lock
from spm.models import Membership, TaskRun, Tenant
from spm.outbox import enqueue_on_commit
from spm.tenancy.context import tenant_context
from spm.uploads import refuse_binary

MAX_ROWS = 100_000
MAX_REPORTED_ERRORS = 1000
IMPORT_TASK_KIND = "pipeline.import"
# The task that runs ``import_batch_run`` (declared in pipeline.tasks).
IMPORT_RUN_TASK = "pipeline.tasks.import_run"

Row = tuple[int, dict[str, Any]]


def decode_upload(data: bytes) -> str:
    """Text of an uploaded file: UTF-8 (with or without BOM), else Windows-1252
    (what Excel writes on many systems).

    Raises ValidationError naming ``file`` for a binary file (``refuse_binary``).
    """
    refuse_binary(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def csv_delimiter(content: str) -> str:
    """The delimiter of a CSV text: comma, semicolon or tab, whichever the
    header line holds most of (a comma when it holds none)."""
    first_line = content.lstrip("\ufeff").split("\n", 1)[0]
    return max((",", ";", "\t"), key=first_line.count)


# Decimal-comma numbers, as spreadsheets write them where the list separator
# is a semicolon: "1.234,56", "1 234,56", "1234,5", "12,50 €".
_NUMBER_NOISE = re.compile(r"[\s$€£¥%]")
_DECIMAL_COMMA = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+(,\d+)?|\d+,\d+)")


def decimal_comma_to_point(value: str) -> str:
    """``value`` with a decimal comma (and dot thousands separators) rewritten
    with a decimal point ("1.234,56" -> "1234.56"); any other value unchanged."""
    core = _NUMBER_NOISE.sub("", value)
    if _DECIMAL_COMMA.fullmatch(core):
        return core.replace(".", "").replace(",", ".")
    return value


def read_csv(content: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Headers and rows of a CSV text. The delimiter (comma, semicolon or tab)
    is detected from the header line. Each row is numbered by its line in the
    spreadsheet (the header is line 1); blank rows are skipped.

    Raises ValidationError on a file without a header row or with repeated
    headers.
    """
    content = content.lstrip("\ufeff")
    delimiter = csv_delimiter(content)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValidationError({"file": "The file is empty."}) from None
    except csv.Error as exc:
        raise ValidationError({"file": f"Line 1: {exc}."}) from None
    if not any(headers):
        raise ValidationError({"file": "The first line must hold the column names."})
    seen: set[str] = set()
    for header in headers:
        if header and header.lower() in seen:
            raise ValidationError({"file": f"The column '{header}' appears twice."})
        seen.add(header.lower())
    rows = []
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            rows.append(
                (
                    number,
                    {h: (values[i] if i < len(values) else "") for i, h in enumerate(headers) if h},
                )
            )
    except csv.Error as exc:
        raise ValidationError({"file": f"Line {reader.line_num}: {exc}."}) from None
    return headers, rows


def mapped_rows(batch: ImportBatch) -> list[Row]:
    """The batch's rows with our field names, only for the mapped columns.

    A semicolon-separated file is read with the decimal comma its
    spreadsheet wrote: its numbers ("1.234,56") become "1234.56"; in comma-
    and tab-separated files a comma in a number is a thousands separator.
    """
    _, rows = read_csv(batch.content)
    mapping = batch.mapping
    numbers: set[str] = set()
    if csv_delimiter(batch.content) == ";":
        numbers = {n for n, spec in sync.FIELDS[batch.kind].items() if spec.number}
    return [
        (
            number,
            {
                name: (
                    decimal_comma_to_point(raw.get(header, ""))
                    if name in numbers
                    else raw.get(header, "")
                )
                for name, header in mapping.items()
            },
        )
        for number, raw in rows
    ]


def import_batch_create(
    tenant: Tenant, *, kind: str, filename: str, content: str, actor: Membership | None
) -> ImportBatch:
    """Store an uploaded file with a first guess of its column mapping.

    Raises ValidationError naming ``kind`` or ``file``.
    """
    if kind not in ImportKind.values:
        raise ValidationError(
            {"kind": f"Choose what the file holds: {', '.join(ImportKind.values)}."}
        )
    headers, rows = read_csv(content)
    if not rows:
        raise ValidationError({"file": "The file has a header line but no rows."})
    if len(rows) > MAX_ROWS:
        raise ValidationError(
            {"file": f"Import at most {MAX_ROWS:,} rows per file (this one has {len(rows):,})."}
        )
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            tenant=tenant,
            kind=kind,
            filename=filename[:255],
            content=content,
            headers=[h for h in headers if h],
            mapping=sync.guess_mapping(kind, [h for h in headers if h]),
            created_by=actor,
        )
        core.audit_record(
            tenant,
            actor=actor.user if actor else None,
            action="import.upload",
            obj=batch,
            data={"kind": kind, "filename": filename, "rows": len(rows)},
        )
    return batch


def check_mapping(kind: str, headers: Sequence[str], mapping: dict[str, str]) -> dict[str, str]:
    """A clean mapping (field -> header, unmapped fields dropped), or
    ValidationError naming the field: unknown field or header, a header used
    twice, a required field left unmapped."""
    fields = sync.FIELDS[kind]
    clean: dict[str, str] = {}
    used: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, header in mapping.items():
        if not header:
            continue
        if name not in fields:
            errors[name] = "Unknown field."
        elif header not in headers:
            errors[name] = f"The file has no column '{header}'."
        elif header in used:
            errors[name] = (
                f"The column '{header}' is already mapped to {fields[used[header]].label}."
            )
        else:
            clean[name] = header
            used[header] = name
    for spec in fields.values():
        if spec.required and spec.name not in clean and spec.name not in errors:
            errors[spec.name] = f"Choose the column that holds {spec.label} (required)."
    if errors:
        raise ValidationError(errors)
    return clean


def import_batch_set_mapping(
    tenant: Tenant, *, batch: ImportBatch, mapping: dict[str, str], all_or_nothing: bool = True
) -> ImportBatch:
    batch.mapping = check_mapping(batch.kind, batch.headers, mapping)
    batch.all_or_nothing = all_or_nothing
    batch.save(update_fields=["mapping", "all_or_nothing"])
    return batch


def import_batch_start(tenant: Tenant, *, batch: ImportBatch, actor: Membership | None) -> TaskRun:
    """Queue the import of ``batch`` (``IMPORT_RUN_TASK``, after commit) and
    return its TaskRun. Raises ValidationError naming ``batch`` while the
    batch is being imported, or the mapping's field."""
    check_mapping(batch.kind, batch.headers, batch.mapping)
    if batch.run_id is not None:
        run = TaskRun.objects.get(tenant=tenant, pk=batch.run_id)
        if not run.is_finished:
            raise ValidationError({"batch": "This file is being imported already."})
    with transaction.atomic():
        run = core.task_run_create(
            tenant,
            kind=IMPORT_TASK_KIND,
            created_by=actor,
            label=f"Import of {batch.get_kind_display().lower()} from {batch.filename}",
        )
        batch.run = run
        batch.save(update_fields=["run"])
        enqueue_on_commit(IMPORT_RUN_TASK, tenant.pk, batch.pk)
    return run


def import_batch_run(tenant: Tenant, *, batch_id: int) -> None:
    """Validate every row, then write all of them (or, without all-or-nothing,
    the good ones) in one transaction. Progress goes to the batch's TaskRun in
    short transactions of their own so the page sees it while the work goes
    on. Call outside any transaction (the task runs with ``atomic=False``).
    """
    with tenant_context(tenant):
        batch = ImportBatch.objects.get(tenant=tenant, pk=batch_id)
        if batch.run_id is None:
            raise ValueError(f"Import batch {batch_id} was never started (no run).")
        rows = mapped_rows(batch)
        actor = Membership.objects.select_related("user").filter(pk=batch.created_by_id).first()
    total = len(rows)
    with core.task_run(
        tenant, run_id=batch.run_id, total=2 * total, failure="The import failed: "
    ) as run:
        with tenant_context(tenant):
            lookups = sync.load_lookups(tenant, batch.kind, rows)
        validated = sync.validate(lookups, rows, on_progress=run.progress)
        if validated.errors and batch.all_or_nothing:
            _refused(run, validated.errors, total, batch.mapping)
            return
        with tenant_context(tenant):
            # One import per tenant at a time, and the write diffs against the
            # rows as they are once the lock is held (validated again, no queries
            # beyond the lookups).
            advisory_xact_lock(tenant.pk, IMPORT_TASK_KIND)
            lookups = sync.load_lookups(tenant, batch.kind, rows)
            validated = sync.validate(lookups, rows)
            if validated.errors and batch.all_or_nothing:
                transaction.set_rollback(True)
                result = None
            else:
                result = sync.write(tenant, validated, actor=actor, via=ChangeSource.IMPORT)
        if result is None:
            _refused(run, validated.errors, total, batch.mapping)
            return
        bad_rows = len({e.row for e in validated.errors})
        summary = (
            f"Imported {total - bad_rows} rows: {result.created} created, "
            f"{result.updated} updated, {result.unchanged} unchanged"
            + (f", {result.accounts_created} accounts created" if result.accounts_created else "")
            + (f"; {bad_rows} bad rows skipped" if bad_rows else "")
            + "."
        )
        run.outcome(
            rows=total - bad_rows,
            message=summary,
            result={**result.as_dict(), **_error_report(validated.errors, total, batch.mapping)},
        )


def _error_report(
    row_errors: list[sync.RowError], total: int, mapping: dict[str, str]
) -> dict[str, Any]:
    """The row errors a run's result lists (the first ``MAX_REPORTED_ERRORS``),
    each with its line, field, the file's column holding the field, and reason."""
    return {
        "errors": [
            {**e.as_dict(), "column": mapping.get(e.field, "")}
            for e in row_errors[:MAX_REPORTED_ERRORS]
        ],
        "error_count": len(row_errors),
        "bad_rows": len({e.row for e in row_errors}),
        "total": total,
    }


def _refused(
    run: core.RunRecorder, row_errors: list[sync.RowError], total: int, mapping: dict[str, str]
) -> None:
    """All or nothing, and some rows are bad: the run fails, nothing written."""
    report = _error_report(row_errors, total, mapping)
    run.outcome(
        ok=False,
        rows=0,
        message=f"{report['bad_rows']} of {total} rows have errors; nothing was imported.",
        result=report,
    )


def import_file(
    tenant: Tenant,
    *,
    kind: str,
    content: str,
    actor: Membership | None,
    mapping: dict[str, str] | None = None,
    all_or_nothing: bool = True,
    dry_run: bool = False,
) -> tuple[sync.UpsertResult | None, list[sync.RowError], dict[str, str]]:
    """Import ``content`` synchronously (the management command). Returns the
    result (None when nothing was written), every row error, and the mapping
    used (the guess, overridden by ``mapping``). Call inside the tenant's context."""
    headers, _ = read_csv(content)
    headers = [h for h in headers if h]
    guessed = sync.guess_mapping(kind, headers)
    guessed.update(mapping or {})
    clean = check_mapping(kind, headers, guessed)
    batch = ImportBatch(kind=kind, content=content, headers=headers, mapping=clean)
    rows = mapped_rows(batch)
    with transaction.atomic():
        advisory_xact_lock(tenant.pk, IMPORT_TASK_KIND)
        lookups = sync.load_lookups(tenant, kind, rows)
        validated = sync.validate(lookups, rows)
        if dry_run or (validated.errors and all_or_nothing):
            return None, validated.errors, clean
        result = sync.write(tenant, validated, actor=actor, via=ChangeSource.IMPORT)
    return result, validated.errors, clean
