"""Pages of the pipeline pillar: board, deal list (with CSV export), deal
detail, funnel, stage settings and CSV import. Thin: forms validate, services
write, selectors read."""

from __future__ import annotations

from pipeline.views.accounts import AccountDetailView, AccountListView
from pipeline.views.board import BoardView, DealMoveView, board_context
from pipeline.views.common import MAX_ID, DealFilters, parse_id
from pipeline.views.csv_import import ImportDetailView, ImportStatusView, ImportView
from pipeline.views.deals import (
    CSV_COLUMNS,
    SORTS,
    DealActivityView,
    DealCreateView,
    DealDetailView,
    DealExportView,
    DealListView,
)
from pipeline.views.exchange_rates import ExchangeRateEditView, ExchangeRateListView
from pipeline.views.funnel import FunnelView
from pipeline.views.leads import LEAD_CSV_COLUMNS, LeadDetailView, LeadExportView, LeadListView
from pipeline.views.stages import StageAddView, StageEditView, StageSettingsView

__all__ = [
    "MAX_ID",
    "parse_id",
    "DealFilters",
    "board_context",
    "BoardView",
    "DealMoveView",
    "SORTS",
    "DealListView",
    "CSV_COLUMNS",
    "DealExportView",
    "DealCreateView",
    "DealDetailView",
    "DealActivityView",
    "FunnelView",
    "StageSettingsView",
    "StageAddView",
    "StageEditView",
    "ExchangeRateListView",
    "ExchangeRateEditView",
    "ImportView",
    "ImportDetailView",
    "ImportStatusView",
    "LEAD_CSV_COLUMNS",
    "LeadListView",
    "LeadExportView",
    "LeadDetailView",
    "AccountListView",
    "AccountDetailView",
]
