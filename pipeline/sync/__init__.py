"""Bulk upsert by ``external_id``: the engine behind the CSV import and the
sync API.

A batch is a list of rows (canonical field name -> raw value: a CSV string or
a JSON value) numbered by CSV line or by item index. The engine works in three
set-based steps:

1. ``load_lookups``: a handful of queries load everything the rows refer to
   (members, pipelines and stages, accounts, deals, leads, the existing
   records with the batch's external ids);
2. ``validate``: pure Python, no queries; every bad field of every row is
   reported as a ``RowError`` (row number, field, reason);
3. ``write``: in one transaction, bulk inserts of new records, one
   ``INSERT ... ON CONFLICT (tenant_id, external_id) DO UPDATE`` for the
   changed ones (unchanged records are not touched, so sending the same batch
   twice changes nothing the second time), then the side tables: stage
   history, credit splits, accounts created by name, one audit row.

Fields missing from a row keep the record's current value; a present but
empty optional field clears it.
"""

from __future__ import annotations

from pipeline.sync.batch import upsert
from pipeline.sync.fields import FIELDS, FieldSpec, guess_mapping, normalise_header
from pipeline.sync.lookups import MODELS, Lookups, load_lookups
from pipeline.sync.parsers import DATE_FORMATS, MONEY_STRIP
from pipeline.sync.results import (
    PROGRESS_EVERY,
    BatchInvalid,
    FieldError,
    ProgressCallback,
    RowError,
    UpsertResult,
)
from pipeline.sync.validation import CHECKERS, Validated, ValidRow, validate
from pipeline.sync.writing import BLANK_TEXT, DEAL_UPDATE_FIELDS, SIMPLE_UPDATE_FIELDS, write

__all__ = [
    "ProgressCallback",
    "PROGRESS_EVERY",
    "FieldError",
    "RowError",
    "BatchInvalid",
    "UpsertResult",
    "FieldSpec",
    "FIELDS",
    "normalise_header",
    "guess_mapping",
    "MONEY_STRIP",
    "DATE_FORMATS",
    "Lookups",
    "load_lookups",
    "MODELS",
    "ValidRow",
    "Validated",
    "validate",
    "CHECKERS",
    "SIMPLE_UPDATE_FIELDS",
    "DEAL_UPDATE_FIELDS",
    "BLANK_TEXT",
    "write",
    "upsert",
]
