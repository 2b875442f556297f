"""The built-in KPIs (docs/formulas.md section 3, plus activity counts and the lead
funnel): key, label, unit and the default direction.

Units decide how a value is stored and shown:
- ``money``: tenant currency, two decimals;
- ``ratio``: a fraction kept at ten decimals (0.5555555556), shown as a
  percentage with two decimals (55.56%);
- ``days``, ``count``, ``number``: plain numbers.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from spm.formatting import DASH, current_formats
from spm.money import round_half_up

MONEY = "money"
RATIO = "ratio"
DAYS = "days"
COUNT = "count"
NUMBER = "number"

HIGHER = "higher"
LOWER = "lower"


@dataclass(frozen=True)
class KpiDef:
    key: str
    label: str
    unit: str
    direction: str = HIGHER
    description: str = ""


BUILT_IN: list[KpiDef] = [
    KpiDef(
        "bookings", "Bookings", MONEY, description="Credited amounts of deals won in the period."
    ),
    KpiDef("quota", "Quota", MONEY, description="Prorated bookings quota of the period."),
    KpiDef("attainment", "Attainment", RATIO, description="Bookings / prorated quota."),
    KpiDef("deals_won", "Deals won", COUNT),
    KpiDef("deals_lost", "Deals lost", COUNT, LOWER),
    KpiDef("win_rate", "Win rate", RATIO, description="Won / (won + lost), closed in the period."),
    KpiDef("average_deal_size", "Average deal size", MONEY, description="Won amount / won count."),
    KpiDef(
        "sales_cycle_length",
        "Sales cycle",
        DAYS,
        LOWER,
        "Mean days from created to closed-won, deals won in the period.",
    ),
    KpiDef(
        "open_pipeline",
        "Open pipeline",
        MONEY,
        description="Open deals expected to close in the period.",
    ),
    KpiDef("open_deals", "Open deals", COUNT),
    KpiDef(
        "weighted_pipeline",
        "Weighted pipeline",
        MONEY,
        description="Amount x stage probability over open deals expected to close in the period.",
    ),
    KpiDef(
        "pipeline_coverage",
        "Pipeline coverage",
        NUMBER,
        description="Open pipeline / (quota - bookings to date).",
    ),
    KpiDef(
        "sales_velocity",
        "Sales velocity",
        MONEY,
        description="Open deals x win rate x average deal size / sales cycle (per day).",
    ),
    KpiDef(
        "retention_rate", "Retention rate", RATIO, description="Customers kept through the period."
    ),
    KpiDef("activities", "Activities", COUNT),
    KpiDef("activities_call", "Calls", COUNT),
    KpiDef("activities_email", "Emails", COUNT),
    KpiDef("activities_meeting", "Meetings", COUNT),
    KpiDef("activities_demo", "Demos", COUNT),
    KpiDef("leads_awareness", "Leads: awareness", COUNT),
    KpiDef("leads_interest", "Leads: interest", COUNT),
    KpiDef("leads_decision", "Leads: decision", COUNT),
    KpiDef("leads_action", "Leads: action", COUNT),
    KpiDef(
        "lead_conversion",
        "Lead conversion",
        RATIO,
        description="Action / awareness of the period's cohort.",
    ),
]

BY_KEY: dict[str, KpiDef] = {k.key: k for k in BUILT_IN}
# Measures a custom formula may name.
MEASURE_KEYS: frozenset[str] = frozenset(BY_KEY)

STAGE_ENTERED = "stage_entered:"
STAGE_CONVERSION = "stage_conversion:"
STAGE_PIPELINE = "stage_pipeline:"
STAGE_WEIGHTED = "stage_weighted:"
CUSTOM = "custom:"

_STAGE_KEY = re.compile(
    r"(stage_entered|stage_conversion|stage_pipeline|stage_weighted):[1-9][0-9]{0,18}"
)


def is_kpi_key(key: str, *, custom_keys: Collection[str]) -> bool:
    """Whether ``key`` names a KPI: built-in, of a stage (by id) or one of ``custom_keys``."""
    return key in BY_KEY or key in custom_keys or _STAGE_KEY.fullmatch(key) is not None


def kpi_def(key: str, *, custom_labels: dict[str, tuple[str, str]] | None = None) -> KpiDef:
    """The definition of any stored key (built-in, stage or custom)."""
    if key in BY_KEY:
        return BY_KEY[key]
    if key.startswith(STAGE_ENTERED):
        return KpiDef(key, "Deals entering stage", COUNT)
    if key.startswith(STAGE_PIPELINE):
        return KpiDef(key, "Open pipeline in stage", MONEY)
    if key.startswith(STAGE_WEIGHTED):
        return KpiDef(key, "Weighted pipeline in stage", MONEY)
    if key.startswith(STAGE_CONVERSION):
        return KpiDef(key, "Stage conversion", RATIO)
    if custom_labels and key in custom_labels:
        label, unit = custom_labels[key]
        return KpiDef(key, label, unit)
    return KpiDef(key, key, NUMBER)


def format_value(value: Decimal | None, unit: str) -> str:
    """Display text in the formats of the tenant in context (``spm.formatting``):
    money with its currency, ratios as percentages, days with one decimal."""
    formats = current_formats()
    if value is None:
        return DASH
    if unit == MONEY:
        return formats.money(value)
    if unit == RATIO:
        return formats.percent(value)
    if unit == COUNT:
        return formats.number(value)
    if unit == DAYS:
        return f"{formats.number(value, 1)} days"
    return formats.number(value, 2)


PLACES = {
    MONEY: Decimal("0.01"),
    COUNT: Decimal("1"),
    DAYS: Decimal("0.01"),
    NUMBER: Decimal("0.0001"),
}


def normalise(value: Decimal | None, unit: str) -> Decimal | None:
    """A stored value at its unit's places (money to cents, ratios at ten places)."""
    if value is None or unit not in PLACES:
        return value
    return round_half_up(value, PLACES[unit])


def percent(value: Decimal | None) -> Decimal | None:
    """A ratio as a percentage with two decimals (0.5555555556 -> 55.56)."""
    if value is None:
        return None
    return round_half_up(value * 100)
