"""Field specs per import kind: canonical names, header aliases, and the header mapping guess."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.models import (
    ImportKind,
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""
    # A number (amount, rate, percentage): read with the file's decimal mark.
    number: bool = False


def _specs(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {s.name: s for s in specs}


FIELDS: dict[str, dict[str, FieldSpec]] = {
    ImportKind.ACCOUNTS: _specs(
        FieldSpec(
            "external_id",
            "External id",
            True,
            ("account id", "company id", "record id", "id", "crm id"),
        ),
        FieldSpec("name", "Name", True, ("account name", "company name", "company", "account")),
        FieldSpec("segment", "Segment", False, ("customer segment", "account segment")),
        FieldSpec("industry", "Industry", False, ("sector",)),
        FieldSpec(
            "owner",
            "Owner",
            False,
            ("account owner", "company owner", "owner email"),
            "Email or full name of a member.",
        ),
        FieldSpec(
            "customer_since",
            "Customer since",
            False,
            ("customer start date", "became a customer date", "customer since date"),
        ),
        FieldSpec("churned_on", "Churned on", False, ("churn date", "churned date", "churned")),
    ),
    ImportKind.DEALS: _specs(
        FieldSpec(
            "external_id",
            "External id",
            True,
            ("opportunity id", "deal id", "record id", "id", "crm id"),
        ),
        FieldSpec("name", "Name", True, ("opportunity name", "deal name", "opportunity", "deal")),
        FieldSpec(
            "account",
            "Account",
            False,
            ("account name", "account id", "company", "company name", "associated company"),
            "Account external id or name; an unknown name creates the account.",
        ),
        FieldSpec(
            "owner",
            "Owner",
            True,
            ("opportunity owner", "deal owner", "owner email", "account executive", "sales rep"),
            "Email or full name of a member.",
        ),
        FieldSpec(
            "amount", "Amount", True, ("deal amount", "opportunity amount", "value"), number=True
        ),
        FieldSpec(
            "currency",
            "Currency",
            False,
            ("currency code", "currency iso code", "opportunity currency", "amount currency"),
        ),
        FieldSpec(
            "exchange_rate",
            "Exchange rate",
            False,
            ("conversion rate", "rate"),
            "Units of the tenant's currency per unit of the deal's currency.",
            number=True,
        ),
        FieldSpec("pipeline", "Pipeline", False, ("sales process",)),
        FieldSpec(
            "stage", "Stage", True, ("deal stage", "opportunity stage", "stage name", "sales stage")
        ),
        FieldSpec(
            "probability",
            "Probability (%)",
            False,
            ("probability percent", "deal probability", "win probability"),
            number=True,
        ),
        FieldSpec(
            "forecast_category", "Forecast category", False, ("forecast", "forecast category name")
        ),
        FieldSpec(
            "expected_close_date",
            "Close date",
            True,
            ("close date", "expected close date", "closing date", "close date expected"),
        ),
        FieldSpec(
            "close_date",
            "Actual close date",
            False,
            ("actual close date", "closed date", "date closed"),
            "Won or lost deals default to the close date.",
        ),
        FieldSpec(
            "lost_reason",
            "Lost reason",
            False,
            ("closed lost reason", "loss reason", "reason lost"),
        ),
        FieldSpec("deal_type", "Type", False, ("type", "opportunity type")),
        FieldSpec("product_line", "Product line", False, ("product", "product family")),
        FieldSpec("source", "Source", False, ("lead source", "original source", "deal source")),
        FieldSpec("created_on", "Created on", False, ("created date", "create date", "created")),
        FieldSpec(
            "splits",
            "Splits",
            False,
            ("credit splits", "split"),
            'Member and percent pairs, e.g. "ann@x.com:60; bob@x.com:40".',
        ),
    ),
    ImportKind.LEADS: _specs(
        FieldSpec(
            "external_id",
            "External id",
            True,
            ("lead id", "contact id", "record id", "id", "crm id"),
        ),
        FieldSpec("name", "Name", True, ("full name", "lead name", "contact name")),
        FieldSpec("company", "Company", False, ("company name", "account name")),
        FieldSpec("email", "Email", False, ("email address", "e mail")),
        FieldSpec("stage", "AIDA stage", False, ("aida stage", "funnel stage", "lead stage")),
        FieldSpec(
            "awareness_on",
            "Awareness date",
            False,
            ("awareness date", "created date", "create date"),
        ),
        FieldSpec("interest_on", "Interest date", False, ("interest date",)),
        FieldSpec("decision_on", "Decision date", False, ("decision date",)),
        FieldSpec("action_on", "Action date", False, ("action date", "converted date")),
        FieldSpec("source", "Source", False, ("lead source", "original source")),
        FieldSpec("campaign", "Campaign", False, ("campaign name", "utm campaign")),
        FieldSpec("owner", "Owner", False, ("lead owner", "contact owner", "owner email")),
        FieldSpec(
            "converted_deal",
            "Converted deal",
            False,
            ("converted opportunity id", "converted deal id", "deal id", "opportunity id"),
            "External id of the deal the lead converted into.",
        ),
    ),
    ImportKind.ACTIVITIES: _specs(
        FieldSpec(
            "external_id", "External id", True, ("activity id", "task id", "record id", "id")
        ),
        FieldSpec("kind", "Kind", True, ("type", "activity type", "task subtype")),
        FieldSpec("subject", "Subject", False, ("title", "activity", "description")),
        FieldSpec(
            "occurred_on",
            "Date",
            True,
            ("date", "activity date", "due date", "occurred on", "completed date"),
        ),
        FieldSpec(
            "member",
            "Member",
            True,
            ("assigned to", "owner", "activity owner", "logged by", "owner email"),
        ),
        FieldSpec("outcome", "Outcome", False, ("call outcome", "result", "status")),
        FieldSpec("deal", "Deal", False, ("opportunity id", "deal id", "related deal")),
        FieldSpec("lead", "Lead", False, ("lead id", "related lead")),
        FieldSpec("account", "Account", False, ("account name", "account id", "company")),
    ),
}


def normalise_header(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", value.lower())


def guess_mapping(kind: str, headers: Sequence[str]) -> dict[str, str]:
    """Field name -> CSV header, recognising our field names and labels and
    common CRM export names (Salesforce, HubSpot, Pipedrive)."""
    by_norm: dict[str, str] = {}
    for header in headers:
        by_norm.setdefault(normalise_header(header), header)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for spec in FIELDS[kind].values():
        for candidate in (spec.name, spec.label, *spec.aliases):
            found = by_norm.get(normalise_header(candidate))
            if found is not None and found not in used:
                mapping[spec.name] = found
                used.add(found)
                break
    return mapping
