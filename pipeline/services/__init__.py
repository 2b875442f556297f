"""Every write of the pipeline pillar: pipelines and stages, accounts, deals
(stage moves with their history, credit splits), leads, activities.

Services take the tenant first and keyword-only arguments, own their
transaction, write an audit row, and raise ``django.core.exceptions.ValidationError``
naming the field at fault. ``actor`` is the acting membership (None for the
system, e.g. demo data); ``via`` says which entry point caused a stage change.
Bulk upserts (CSV import and the sync API) live in ``pipeline.sync`` and
follow the same rules set-based.
"""

from __future__ import annotations

from pipeline.models import HUNDRED
from pipeline.services.accounts import (
    ACCOUNT_FIELDS,
    account_create,
    account_delete,
    account_update,
)
from pipeline.services.activities import (
    ACTIVITY_FIELDS,
    activity_create,
    activity_delete,
    activity_update,
)
from pipeline.services.common import tenant_today
from pipeline.services.deals import (
    DEAL_FIELDS,
    SplitInput,
    apply_stage,
    check_owner_allowed,
    check_split_pairs,
    deal_create,
    deal_delete,
    deal_move,
    deal_splits_set,
    deal_update,
    split_rows,
)
from pipeline.services.exchange_rates import (
    RateTable,
    compute_base_amount,
    exchange_rate_create,
    exchange_rate_delete,
    exchange_rate_on,
    exchange_rate_table,
    exchange_rate_update,
    missing_rate_message,
    rate_day,
)
from pipeline.services.leads import (
    LEAD_FIELDS,
    lead_convert,
    lead_create,
    lead_delete,
    lead_update,
    normalise_lead_dates,
)
from pipeline.services.stages import (
    DEFAULT_PIPELINE_NAME,
    DEFAULT_STAGES,
    STAGE_FIELDS,
    pipeline_create,
    pipeline_create_default,
    pipeline_delete,
    pipeline_update,
    stage_create,
    stage_delete,
    stage_reorder,
    stage_update,
)

__all__ = [
    "HUNDRED",
    "tenant_today",
    "DEFAULT_PIPELINE_NAME",
    "DEFAULT_STAGES",
    "pipeline_create_default",
    "pipeline_create",
    "pipeline_update",
    "pipeline_delete",
    "stage_create",
    "STAGE_FIELDS",
    "stage_update",
    "stage_reorder",
    "stage_delete",
    "exchange_rate_create",
    "exchange_rate_update",
    "exchange_rate_delete",
    "RateTable",
    "rate_day",
    "exchange_rate_table",
    "exchange_rate_on",
    "missing_rate_message",
    "compute_base_amount",
    "ACCOUNT_FIELDS",
    "account_create",
    "account_update",
    "account_delete",
    "DEAL_FIELDS",
    "SplitInput",
    "check_owner_allowed",
    "apply_stage",
    "split_rows",
    "check_split_pairs",
    "deal_create",
    "deal_update",
    "deal_move",
    "deal_splits_set",
    "deal_delete",
    "LEAD_FIELDS",
    "normalise_lead_dates",
    "lead_create",
    "lead_update",
    "lead_convert",
    "lead_delete",
    "ACTIVITY_FIELDS",
    "activity_create",
    "activity_update",
    "activity_delete",
]
