"""Step 2 of an upsert: check every row in pure Python, reporting every bad field."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipeline.models import (
    AIDA_DATE_FIELD,
    DEAL_AMOUNT_MAX,
    Account,
    Activity,
    ActivityKind,
    AidaStage,
    Deal,
    DealType,
    ForecastCategory,
    ImportKind,
    Lead,
    Pipeline,
)
from pipeline.services import (
    check_split_pairs,
    missing_rate_message,
    normalise_lead_dates,
)
from pipeline.sync.fields import FIELDS, normalise_header
from pipeline.sync.lookups import MODELS, Lookups, _key
from pipeline.sync.parsers import _choice, _currency, _date, _email, _money, _percent, _rate, _text
from pipeline.sync.results import PROGRESS_EVERY, FieldError, ProgressCallback, RowError


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


def _deal_amount(value: Any) -> Decimal | None:
    number = _money(value)
    if number is not None and number > DEAL_AMOUNT_MAX:
        raise FieldError(f"A deal amount is at most {DEAL_AMOUNT_MAX:,} (got {value}).")
    return number


def _check_deal(lookups: Lookups, ctx: _RowContext) -> ValidRow | None:
    tenant = lookups.tenant
    ctx.get("name", _text_of(Deal, "name"), required=True)
    owner_id = ctx.get("owner", lookups.member, required=True)
    ctx.get("amount", _deal_amount, required=True)
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
