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

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from pipeline.models import (
    AIDA_DATE_FIELD,
    HUNDRED,
    Account,
    Activity,
    ActivityKind,
    AidaStage,
    ChangeSource,
    Deal,
    DealSplit,
    DealStatus,
    DealType,
    ForecastCategory,
    ImportKind,
    Lead,
    Pipeline,
    Stage,
    StageChange,
)
from pipeline.services import (
    RateTable,
    apply_stage,
    check_split_pairs,
    compute_base_amount,
    exchange_rate_table,
    missing_rate_message,
    normalise_lead_dates,
    split_rows,
    tenant_today,
)
from spm.models import Membership, Tenant
from spm.services import audit_record

ProgressCallback = Callable[[int], None]
PROGRESS_EVERY = 1000


class FieldError(Exception):
    """A bad value; the message says why, the caller knows the field."""


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


class BatchInvalid(Exception):
    """The batch has bad rows; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    accounts_created: int = 0
    stage_changes: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "accounts_created": self.accounts_created,
            "stage_changes": self.stage_changes,
        }


# Field specs -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""


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
        FieldSpec("amount", "Amount", True, ("deal amount", "opportunity amount", "value")),
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


# Value parsers -----------------------------------------------------------------------

MONEY_STRIP = re.compile(r"[\s,$€£¥]")


def _text(value: Any, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise FieldError("Expected text.")
    text = str(value).strip()
    if "\x00" in text:
        raise FieldError("Text cannot contain NUL characters.")
    if len(text) > max_length:
        raise FieldError(f"Use at most {max_length} characters (got {len(text)}).")
    return text


def _decimal(value: Any, *, places: int, what: str = "number") -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float):
        raise FieldError(f'Send the {what} as a decimal string, e.g. "1200.50", not a JSON number.')
    if isinstance(value, bool):
        raise FieldError(f"Expected a {what}.")
    text = MONEY_STRIP.sub("", str(value)).removesuffix("%")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FieldError(f"'{value}' is not a valid {what}.") from None
    if not number.is_finite() or abs(number) >= Decimal("1e16"):
        raise FieldError(f"'{value}' is not a valid {what}.")
    quantized = number.quantize(Decimal(1).scaleb(-places))
    if number != quantized:
        raise FieldError(f"'{value}' has more than {places} decimals.")
    return quantized


def _money(value: Any) -> Decimal | None:
    number = _decimal(value, places=2, what="amount")
    if number is not None and number < 0:
        raise FieldError(f"The amount cannot be negative (got {value}).")
    if number is not None and abs(number) >= Decimal("1e16"):
        raise FieldError(f"The amount {value} is too large.")
    return number


def _percent(value: Any) -> Decimal | None:
    number = _decimal(value, places=2, what="percentage")
    if number is not None and not Decimal("0") <= number <= HUNDRED:
        raise FieldError(f"A percentage is between 0 and 100 (got {value}).")
    return number


def _rate(value: Any) -> Decimal | None:
    number = _decimal(value, places=6, what="rate")
    if number is not None and not Decimal("0") < number < Decimal("1000"):
        raise FieldError(f"An exchange rate is above 0 and below 1000 (got {value}).")
    return number


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y")


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise FieldError("Expected a date as text, e.g. 2027-03-31.")
    text = value.strip()
    # "2027-03-31T10:00:00Z" and "2027-03-31 10:00" (HubSpot exports): the date part.
    if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text):
        text = text[:10]
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    raise FieldError(f"'{value}' is not a date; use YYYY-MM-DD (or MM/DD/YYYY).")


def _choice(value: Any, choices: Iterable[tuple[str, str]], what: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    key = normalise_header(str(value))
    for stored, label in choices:
        if key in (normalise_header(stored), normalise_header(label)):
            return stored
    allowed = ", ".join(label for _, label in choices)
    raise FieldError(f"'{value}' is not a {what}; use one of: {allowed}.")


def _currency(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise FieldError(f"'{value}' is not a three-letter currency code such as USD.")
    return text


def _email(value: Any) -> str:
    text = _text(value, 254)
    if text and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        raise FieldError(f"'{text}' is not an email address.")
    return text.lower()


# Lookups -----------------------------------------------------------------------------


def _key(value: Any) -> str:
    return " ".join(str(value).split()).lower()


@dataclass
class Lookups:
    """Everything a batch refers to, loaded with a few set-based queries."""

    tenant: Tenant
    kind: str
    today: dt.date
    members: dict[str, int] = field(default_factory=dict)
    member_ids: set[int] = field(default_factory=set)
    ambiguous_members: set[str] = field(default_factory=set)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    default_pipeline: Pipeline | None = None
    stages: dict[tuple[int, str], Stage] = field(default_factory=dict)
    stages_by_id: dict[int, Stage] = field(default_factory=dict)
    accounts_by_external_id: dict[str, int] = field(default_factory=dict)
    accounts_by_name: dict[str, int] = field(default_factory=dict)
    deals_by_external_id: dict[str, int] = field(default_factory=dict)
    leads_by_external_id: dict[str, int] = field(default_factory=dict)
    existing: dict[str, Any] = field(default_factory=dict)
    rates: RateTable = field(default_factory=dict)

    def existing_record(self, external_id: str | None) -> Any:
        """The stored record with this external id, or None."""
        return None if external_id is None else self.existing.get(external_id)

    def member(self, value: Any) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            if value in self.member_ids:
                return value
            raise FieldError(f"No member with id {value} in this tenant.")
        key = _key(value)
        if key in self.ambiguous_members:
            raise FieldError(f"'{value}' matches several members; use their email.")
        if key not in self.members:
            raise FieldError(f"No member with email or name '{value}' in this tenant.")
        return self.members[key]

    def stage(self, value: Any, pipeline: Pipeline) -> Stage:
        if isinstance(value, int) and not isinstance(value, bool):
            stage = self.stages_by_id.get(value)
            if stage is None or stage.pipeline_id != pipeline.pk:
                raise FieldError(f"No stage with id {value} in '{pipeline.name}'.")
            return stage
        stage = self.stages.get((pipeline.pk, normalise_header(str(value))))
        if stage is None:
            names = ", ".join(
                s.name for (p, _), s in self.stages.items() if p == pipeline.pk and s.is_active
            )
            raise FieldError(f"'{value}' is not a stage of '{pipeline.name}' (stages: {names}).")
        return stage


def _raw_values(rows: Sequence[tuple[int, dict[str, Any]]], name: str) -> set[str]:
    values = set()
    for _, row in rows:
        value = row.get(name)
        if isinstance(value, str) and value.strip() and "\x00" not in value:
            values.add(value.strip())
        elif isinstance(value, int) and not isinstance(value, bool):
            values.add(str(value))
    return values


def load_lookups(tenant: Tenant, kind: str, rows: Sequence[tuple[int, dict[str, Any]]]) -> Lookups:
    """Load what ``rows`` refer to. Call inside the tenant's context."""
    lookups = Lookups(tenant=tenant, kind=kind, today=tenant_today(tenant))
    counts: dict[str, int] = {}
    for pk, email, first, last in Membership.objects.filter(tenant=tenant).values_list(
        "id", "user__email", "user__first_name", "user__last_name"
    ):
        lookups.member_ids.add(pk)
        lookups.members[_key(email)] = pk
        full = _key(f"{first} {last}")
        if full:
            counts[full] = counts.get(full, 0) + 1
            lookups.members.setdefault(full, pk)
    lookups.ambiguous_members = {name for name, n in counts.items() if n > 1}
    if kind == ImportKind.DEALS:
        # One query for the whole batch; rows look their month up in memory.
        lookups.rates = exchange_rate_table(tenant)
        pipelines = list(Pipeline.objects.filter(tenant=tenant).order_by("position", "id"))
        lookups.pipelines = {normalise_header(p.name): p for p in pipelines}
        lookups.default_pipeline = next((p for p in pipelines if p.is_active), None)
        by_id = {p.pk: p for p in pipelines}
        for stage in Stage.objects.filter(tenant=tenant).order_by("position", "id"):
            stage.pipeline = by_id[stage.pipeline_id]
            lookups.stages[(stage.pipeline_id, normalise_header(stage.name))] = stage
            lookups.stages_by_id[stage.pk] = stage
    if kind in (ImportKind.DEALS, ImportKind.ACTIVITIES):
        refs = _raw_values(rows, "account")
        if refs:
            for pk, external_id, name in (
                Account.objects.filter(tenant=tenant)
                .annotate(lname=Lower("name"))
                .filter(Q(external_id__in=refs) | Q(lname__in={r.lower() for r in refs}))
                .values_list("id", "external_id", "name")
            ):
                if external_id:
                    lookups.accounts_by_external_id[external_id] = pk
                lookups.accounts_by_name.setdefault(_key(name), pk)
    deal_refs = _raw_values(rows, "converted_deal" if kind == ImportKind.LEADS else "deal")
    if deal_refs and kind in (ImportKind.LEADS, ImportKind.ACTIVITIES):
        lookups.deals_by_external_id = dict(
            Deal.objects.filter(tenant=tenant, external_id__in=deal_refs).values_list(
                "external_id", "id"
            )
        )
    lead_refs = _raw_values(rows, "lead")
    if lead_refs and kind == ImportKind.ACTIVITIES:
        lookups.leads_by_external_id = dict(
            Lead.objects.filter(tenant=tenant, external_id__in=lead_refs).values_list(
                "external_id", "id"
            )
        )
    ids = _raw_values(rows, "external_id")
    model = MODELS[kind]
    if ids:
        lookups.existing = {
            obj.external_id: obj for obj in model.objects.filter(tenant=tenant, external_id__in=ids)
        }
    return lookups


MODELS: dict[str, Any] = {
    ImportKind.ACCOUNTS: Account,
    ImportKind.DEALS: Deal,
    ImportKind.LEADS: Lead,
    ImportKind.ACTIVITIES: Activity,
}


# Validation --------------------------------------------------------------------------


@dataclass
class ValidRow:
    row: int
    external_id: str
    values: dict[str, Any]
    splits: list[tuple[int, Decimal]] | None = None
    new_account_name: str | None = None


@dataclass
class Validated:
    kind: str
    lookups: Lookups
    rows: list[ValidRow]
    errors: list[RowError]
    total: int


class _RowContext:
    """Collects the errors of one row; ``get`` parses a field if present."""

    def __init__(self, number: int, raw: dict[str, Any], errors: list[RowError]) -> None:
        self.number = number
        self.raw = raw
        self.errors = errors
        self.values: dict[str, Any] = {}
        self.failed = False

    def error(self, name: str, message: str) -> None:
        self.errors.append(RowError(self.number, name, message))
        self.failed = True

    def get(self, name: str, parse: Callable[[Any], Any], *, required: bool = False) -> Any:
        if name not in self.raw:
            if required:
                self.error(name, "This field is required.")
            return None
        try:
            value = parse(self.raw[name])
        except FieldError as exc:
            self.error(name, str(exc))
            return None
        if required and value in (None, ""):
            self.error(name, "This field is required.")
            return None
        self.values[name] = value
        return value


def _text_of(model: Any, name: str) -> Callable[[Any], str]:
    max_length = model._meta.get_field(name).max_length
    return lambda value: _text(value, max_length)


def validate(
    lookups: Lookups,
    rows: Sequence[tuple[int, dict[str, Any]]],
    *,
    on_progress: ProgressCallback | None = None,
) -> Validated:
    """Check every row; no queries. Returns the valid rows and every error."""
    errors: list[RowError] = []
    valid: list[ValidRow] = []
    seen: dict[str, int] = {}
    checker = CHECKERS[lookups.kind]
    for index, (number, raw) in enumerate(rows, start=1):
        unknown = sorted(set(raw) - set(FIELDS[lookups.kind]))
        ctx = _RowContext(number, raw, errors)
        for name in unknown:
            ctx.error(name, "Unknown field.")
        external_id = ctx.get(
            "external_id", _text_of(MODELS[lookups.kind], "external_id"), required=True
        )
        if external_id:
            if external_id in seen:
                ctx.error(
                    "external_id",
                    f"'{external_id}' appears twice in the batch (first at {seen[external_id]}).",
                )
            else:
                seen[external_id] = number
        result = checker(lookups, ctx)
        if not ctx.failed and result is not None:
            result.external_id = external_id
            valid.append(result)
        if on_progress is not None and index % PROGRESS_EVERY == 0:
            on_progress(index)
    if on_progress is not None:
        on_progress(len(rows))
    return Validated(kind=lookups.kind, lookups=lookups, rows=valid, errors=errors, total=len(rows))


def _check_account(lookups: Lookups, ctx: _RowContext) -> ValidRow | None:
    ctx.get("name", _text_of(Account, "name"), required=True)
    for name in ("segment", "industry"):
        ctx.get(name, _text_of(Account, name))
    ctx.get("owner", lookups.member)
    since = ctx.get("customer_since", _date)
    churned = ctx.get("churned_on", _date)
    if since and churned and churned < since:
        ctx.error(
            "churned_on",
            f"An account cannot churn ({churned}) before it became a customer ({since}).",
        )
    values = ctx.values
    if "owner" in values:
        values["owner_id"] = values.pop("owner")
    return ValidRow(ctx.number, "", values)


def _parse_splits(lookups: Lookups, value: Any) -> list[tuple[int, Decimal]] | None:
    if value is None or (isinstance(value, str) and not value.strip()) or value == []:
        return None
    items: list[tuple[Any, Any]] = []
    if isinstance(value, str):
        for part in value.split(";"):
            if not part.strip():
                continue
            member, sep, percent = part.rpartition(":")
            if not sep:
                raise FieldError(f"Write each split as member:percent (got '{part.strip()}').")
            items.append((member.strip(), percent.strip()))
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, dict) or "member" not in item or "percent" not in item:
                raise FieldError('Each split is an object {"member": ..., "percent": "60"}.')
            items.append((item["member"], item["percent"]))
    else:
        raise FieldError("Give the splits as a list or as 'member:percent; member:percent'.")
    pairs = []
    for member, percent in items:
        member_id = lookups.member(member)
        number = _percent(percent)
        if member_id is None or number is None:
            raise FieldError("Each split needs a member and a percentage.")
        pairs.append((member_id, number))
    try:
        check_split_pairs(pairs)
    except Exception as exc:  # ValidationError with a message dict
        messages = getattr(exc, "message_dict", {}).get("splits") or [str(exc)]
        raise FieldError(messages[0]) from None
    return pairs


def _check_deal(lookups: Lookups, ctx: _RowContext) -> ValidRow | None:
    tenant = lookups.tenant
    ctx.get("name", _text_of(Deal, "name"), required=True)
    owner_id = ctx.get("owner", lookups.member, required=True)
    ctx.get("amount", _money, required=True)
    currency = ctx.get("currency", _currency)
    rate = ctx.get("exchange_rate", _rate)
    existing = lookups.existing_record(ctx.values.get("external_id"))
    if "currency" in ctx.raw:
        currency = currency or tenant.currency
    else:
        currency = existing.currency if existing is not None else tenant.currency
    pipeline = lookups.default_pipeline
    pipeline_name = ctx.get("pipeline", _text_of(Pipeline, "name"))
    if pipeline_name:
        pipeline = lookups.pipelines.get(normalise_header(pipeline_name))
        if pipeline is None:
            names = ", ".join(p.name for p in lookups.pipelines.values())
            ctx.error("pipeline", f"'{pipeline_name}' is not a pipeline (pipelines: {names}).")
    stage = None
    if pipeline is None and not ctx.failed:
        ctx.error("pipeline", "This tenant has no active pipeline.")
    elif pipeline is not None:
        raw_stage = ctx.raw.get("stage")
        if raw_stage is None or (isinstance(raw_stage, str) and not raw_stage.strip()):
            ctx.error("stage", "This field is required.")
        else:
            try:
                stage = lookups.stage(
                    raw_stage.strip() if isinstance(raw_stage, str) else raw_stage, pipeline
                )
            except FieldError as exc:
                ctx.error("stage", str(exc))
    if (
        stage is not None
        and not stage.is_active
        and (existing is None or existing.stage_id != stage.pk)
    ):
        ctx.error("stage", f"'{stage.name}' is retired; choose another stage.")
    ctx.get("probability", _percent)
    ctx.get(
        "forecast_category", lambda v: _choice(v, ForecastCategory.choices, "forecast category")
    )
    expected_close = ctx.get("expected_close_date", _date, required=True)
    close_date = ctx.get("close_date", _date)
    # A foreign currency without a rate takes the table's rate for the month of
    # the close (the actual close once won), else the rate the deal already has.
    day = (close_date or expected_close) if stage is not None and stage.is_won else expected_close
    if (
        currency != tenant.currency
        and rate is None
        and day is not None
        and (currency, day.replace(day=1)) not in lookups.rates
        and (existing is None or existing.currency != currency)
    ):
        ctx.error("exchange_rate", missing_rate_message(tenant, currency=currency, day=day))
    ctx.get("lost_reason", _text_of(Deal, "lost_reason"))
    ctx.get("deal_type", lambda v: _choice(v, DealType.choices, "deal type"))
    ctx.get("product_line", _text_of(Deal, "product_line"))
    ctx.get("source", _text_of(Deal, "source"))
    ctx.get("created_on", _date)
    splits = ctx.get("splits", lambda v: _parse_splits(lookups, v))
    new_account_name = None
    account_ref = ctx.get("account", _text_of(Account, "name"))
    values = ctx.values
    values.pop("splits", None)
    if "account" in values:
        ref = values.pop("account")
        account_id = None
        if ref:
            account_id = lookups.accounts_by_external_id.get(ref) or lookups.accounts_by_name.get(
                _key(ref)
            )
            if account_id is None:
                new_account_name = account_ref
        values["account_id"] = account_id
    if owner_id is not None:
        values["owner_id"] = values.pop("owner")
    values["stage"] = stage
    values.pop("pipeline", None)
    if values.get("exchange_rate") is None:
        values.pop("exchange_rate", None)
    return ValidRow(ctx.number, "", values, splits=splits, new_account_name=new_account_name)


def _check_lead(lookups: Lookups, ctx: _RowContext) -> ValidRow | None:
    ctx.get("name", _text_of(Lead, "name"), required=True)
    ctx.get("company", _text_of(Lead, "company"))
    ctx.get("email", _email)
    ctx.get("stage", lambda v: _choice(v, AidaStage.choices, "AIDA stage"))
    for name in AIDA_DATE_FIELD.values():
        ctx.get(name, _date)
    ctx.get("source", _text_of(Lead, "source"))
    ctx.get("campaign", _text_of(Lead, "campaign"))
    ctx.get("owner", lookups.member)
    converted = ctx.get("converted_deal", _text_of(Deal, "external_id"))
    values = ctx.values
    if "owner" in values:
        values["owner_id"] = values.pop("owner")
    if "converted_deal" in values:
        values.pop("converted_deal")
        deal_id = None
        if converted:
            deal_id = lookups.deals_by_external_id.get(converted)
            if deal_id is None:
                ctx.error("converted_deal", f"No deal with external id '{converted}'.")
        values["converted_deal_id"] = deal_id
        if deal_id is not None:
            values["stage"] = AidaStage.ACTION.value
    if ctx.failed:
        return None
    existing = lookups.existing_record(values.get("external_id"))
    dates = {
        name: values.get(name, getattr(existing, name, None)) for name in AIDA_DATE_FIELD.values()
    }
    merged = {"stage": values.get("stage"), **dates}
    try:
        normalise_lead_dates(merged, today=lookups.today)
    except Exception as exc:  # ValidationError naming the date field
        for name, messages in getattr(exc, "message_dict", {"stage": [str(exc)]}).items():
            ctx.error(name, messages[0])
        return None
    values.update(merged)
    return ValidRow(ctx.number, "", values)


def _check_activity(lookups: Lookups, ctx: _RowContext) -> ValidRow | None:
    ctx.get("kind", lambda v: _choice(v, ActivityKind.choices, "kind of activity"), required=True)
    ctx.get("subject", _text_of(Activity, "subject"))
    ctx.get("occurred_on", _date, required=True)
    ctx.get("member", lookups.member, required=True)
    ctx.get("outcome", _text_of(Activity, "outcome"))
    deal = ctx.get("deal", _text_of(Deal, "external_id"))
    lead = ctx.get("lead", _text_of(Lead, "external_id"))
    account = ctx.get("account", _text_of(Account, "name"))
    values = ctx.values
    if "member" in values:
        values["member_id"] = values.pop("member")
    for name, ref, table in (
        ("deal", deal, lookups.deals_by_external_id),
        ("lead", lead, lookups.leads_by_external_id),
    ):
        if name in values:
            values.pop(name)
            target = table.get(ref) if ref else None
            if ref and target is None:
                ctx.error(name, f"No {name} with external id '{ref}'.")
            values[f"{name}_id"] = target
    if "account" in values:
        values.pop("account")
        target = None
        if account:
            target = lookups.accounts_by_external_id.get(account) or lookups.accounts_by_name.get(
                _key(account)
            )
            if target is None:
                ctx.error("account", f"No account with external id or name '{account}'.")
        values["account_id"] = target
    existing = lookups.existing_record(values.get("external_id"))
    targets = [
        values.get(f"{n}_id", getattr(existing, f"{n}_id", None))
        for n in ("deal", "lead", "account")
    ]
    if not ctx.failed and not any(targets):
        ctx.error("deal", "Log the activity against a deal, a lead or an account.")
    return ValidRow(ctx.number, "", values)


CHECKERS: dict[str, Callable[[Lookups, _RowContext], ValidRow | None]] = {
    ImportKind.ACCOUNTS: _check_account,
    ImportKind.DEALS: _check_deal,
    ImportKind.LEADS: _check_lead,
    ImportKind.ACTIVITIES: _check_activity,
}


# Writing -----------------------------------------------------------------------------

SIMPLE_UPDATE_FIELDS: dict[str, list[str]] = {
    ImportKind.ACCOUNTS: [
        "name",
        "segment",
        "industry",
        "owner_id",
        "customer_since",
        "churned_on",
    ],
    ImportKind.LEADS: [
        "name",
        "company",
        "email",
        "stage",
        "awareness_on",
        "interest_on",
        "decision_on",
        "action_on",
        "source",
        "campaign",
        "owner_id",
        "converted_deal_id",
    ],
    ImportKind.ACTIVITIES: [
        "kind",
        "subject",
        "occurred_on",
        "member_id",
        "outcome",
        "deal_id",
        "lead_id",
        "account_id",
    ],
}
DEAL_UPDATE_FIELDS = [
    "name",
    "account_id",
    "owner_id",
    "amount",
    "currency",
    "exchange_rate",
    "base_amount",
    "pipeline_id",
    "stage_id",
    "probability",
    "forecast_category",
    "expected_close_date",
    "status",
    "close_date",
    "lost_reason",
    "deal_type",
    "product_line",
    "source",
    "custom_splits",
    "created_on",
]
BLANK_TEXT = {
    "segment",
    "industry",
    "company",
    "email",
    "source",
    "campaign",
    "subject",
    "outcome",
    "lost_reason",
    "product_line",
}


def _upsert(model: Any, objs: list[Any], update_fields: list[str]) -> None:
    if not objs:
        return
    names = [model._meta.get_field(f).name for f in update_fields] + ["updated_at"]
    model.objects.bulk_create(
        objs,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["tenant", "external_id"],
        update_fields=names,
    )


def _fill_simple(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if name == "external_id":
            continue
        if value is None and name in BLANK_TEXT:
            value = ""
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def write(
    tenant: Tenant, validated: Validated, *, actor: Membership | None, via: str
) -> UpsertResult:
    """Write the valid rows in one transaction, set-based. Call inside the
    tenant's context. Rows unchanged since the last sync are not touched."""
    result = UpsertResult(skipped=validated.total - len(validated.rows), errors=validated.errors)
    with transaction.atomic():
        if validated.kind == ImportKind.DEALS:
            _write_deals(tenant, validated, result, actor=actor, via=via)
        else:
            _write_simple(tenant, validated, result)
        audit_record(
            tenant,
            actor=actor.user if actor else None,
            action=f"{validated.kind}.bulk_upsert",
            data={**result.as_dict(), "via": via, "errors": len(validated.errors)},
        )
    return result


def _write_simple(tenant: Tenant, validated: Validated, result: UpsertResult) -> None:
    model = MODELS[validated.kind]
    existing = validated.lookups.existing
    to_create, to_update = [], []
    for row in validated.rows:
        obj = existing.get(row.external_id)
        if obj is None:
            obj = model(tenant=tenant, external_id=row.external_id)
            _fill_simple(obj, row.values)
            to_create.append(obj)
        elif _fill_simple(obj, row.values):
            to_update.append(obj)
        else:
            result.unchanged += 1
    model.objects.bulk_create(to_create, batch_size=2000)
    _upsert(model, to_update, SIMPLE_UPDATE_FIELDS[validated.kind])
    result.created, result.updated = len(to_create), len(to_update)


def _write_deals(
    tenant: Tenant,
    validated: Validated,
    result: UpsertResult,
    *,
    actor: Membership | None,
    via: str,
) -> None:
    lookups = validated.lookups
    today = lookups.today
    now = timezone.now()
    # Accounts named in the batch that do not exist yet are created first.
    new_names: dict[str, str] = {}
    for row in validated.rows:
        if row.new_account_name:
            new_names.setdefault(_key(row.new_account_name), row.new_account_name)
    if new_names:
        accounts = Account.objects.bulk_create(
            [Account(tenant=tenant, name=name) for name in new_names.values()], batch_size=2000
        )
        result.accounts_created = len(accounts)
        created_ids = {_key(a.name): a.pk for a in accounts}
        for row in validated.rows:
            if row.new_account_name:
                row.values["account_id"] = created_ids[_key(row.new_account_name)]
    existing: dict[str, Deal] = lookups.existing
    custom_ids = [d.pk for d in existing.values() if d.custom_splits]
    current_splits: dict[int, list[tuple[int, Decimal]]] = {}
    if custom_ids:
        for deal_id, member_id, percent in (
            DealSplit.objects.filter(tenant=tenant, deal_id__in=custom_ids)
            .order_by("deal_id", "position", "id")
            .values_list("deal_id", "member_id", "percent")
        ):
            current_splits.setdefault(deal_id, []).append((member_id, percent))
    to_create: list[Deal] = []
    to_update: list[Deal] = []
    moves: list[tuple[Deal, int | None]] = []
    split_plans: list[tuple[Deal, list[tuple[int, Decimal]]]] = []
    for row in validated.rows:
        values = dict(row.values)
        stage: Stage = values.pop("stage")
        deal = existing.get(row.external_id)
        is_new = deal is None
        if deal is None:
            deal = Deal(
                tenant=tenant,
                external_id=row.external_id,
                currency=tenant.currency,
                exchange_rate=Decimal("1"),
                created_on=today,
                deal_type=DealType.NEW_BUSINESS,
            )
            before: tuple[Any, ...] = ()
            old_stage_id = None
        else:
            before = tuple(getattr(deal, f) for f in DEAL_UPDATE_FIELDS)
            old_stage_id = deal.stage_id
        old_owner_id, old_base, old_currency = deal.owner_id, deal.base_amount, deal.currency
        explicit_close = values.pop("close_date", None)
        for name, value in values.items():
            if name == "external_id":
                continue
            if value is None and name in BLANK_TEXT:
                value = ""
            if name in ("probability", "forecast_category") and value is None:
                value = getattr(stage, name)
            if name == "deal_type" and value is None:
                value = DealType.NEW_BUSINESS
            if name == "created_on" and value is None:
                value = deal.created_on or today
            if name == "currency" and value is None:
                value = tenant.currency
            setattr(deal, name, value)
        # A closed deal's close date is the row's actual close date, else its close date.
        close_date = explicit_close or deal.expected_close_date
        if is_new or stage.pk != old_stage_id:
            apply_stage(
                deal,
                stage,
                today=today,
                close_date=close_date,
                keep_probability=values.get("probability") is not None,
                keep_forecast=values.get("forecast_category") is not None,
            )
        elif deal.status != DealStatus.OPEN:
            deal.close_date = close_date
        compute_base_amount(
            tenant,
            deal,
            explicit_rate="exchange_rate" in values,
            keep_stored=not is_new and deal.currency == old_currency,
            rates=lookups.rates,
        )
        if row.splits is not None:
            deal.custom_splits = True
            pairs = row.splits
        elif deal.custom_splits and not is_new:
            pairs = current_splits.get(deal.pk, [(deal.owner_id, HUNDRED)])
        else:
            deal.custom_splits = False
            pairs = [(deal.owner_id, HUNDRED)]
        if is_new:
            to_create.append(deal)
            moves.append((deal, None))
            split_plans.append((deal, pairs))
            continue
        after = tuple(getattr(deal, f) for f in DEAL_UPDATE_FIELDS)
        splits_changed = row.splits is not None and row.splits != current_splits.get(deal.pk)
        if after == before and not splits_changed:
            result.unchanged += 1
            continue
        to_update.append(deal)
        if deal.stage_id != old_stage_id:
            moves.append((deal, old_stage_id))
        if splits_changed or deal.owner_id != old_owner_id or deal.base_amount != old_base:
            split_plans.append((deal, pairs))
    Deal.objects.bulk_create(to_create, batch_size=2000)
    _upsert(Deal, to_update, DEAL_UPDATE_FIELDS)
    result.created, result.updated = len(to_create), len(to_update)
    StageChange.objects.bulk_create(
        [
            StageChange(
                tenant=tenant,
                deal=deal,
                from_stage_id=old,
                to_stage_id=deal.stage_id,
                changed_at=now,
                changed_by=actor,
                source=via,
            )
            for deal, old in moves
        ],
        batch_size=2000,
    )
    result.stage_changes = len(moves)
    updated_ids = {deal.pk for deal in to_update}
    replaced = [deal.pk for deal, _ in split_plans if deal.pk in updated_ids]
    if replaced:
        DealSplit.objects.filter(tenant=tenant, deal_id__in=replaced).delete()
    DealSplit.objects.bulk_create(
        [split for deal, pairs in split_plans for split in split_rows(deal, pairs)], batch_size=2000
    )


# The whole thing -----------------------------------------------------------------------


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
