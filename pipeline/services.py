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

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from pipeline.credit import allocate_credit
from pipeline.models import (
    AIDA_DATE_FIELD,
    AIDA_ORDER,
    HUNDRED,
    Account,
    Activity,
    AidaStage,
    ChangeSource,
    Deal,
    DealSplit,
    DealStatus,
    DealType,
    ExchangeRate,
    ForecastCategory,
    Lead,
    Pipeline,
    Stage,
    StageChange,
)
from spm.models import FiscalPeriod, Membership, PeriodKind, Role, Tenant
from spm.money import to_cents
from spm.selectors import visible_memberships
from spm.services import audit_record

DEFAULT_PIPELINE_NAME = "New Business"
# (name, default probability %, forecast category, won, lost): the sales process of the
# product brief, lead generation to the post-sale relationship.
DEFAULT_STAGES: list[tuple[str, str, str, bool, bool]] = [
    ("Lead generation", "10", ForecastCategory.PIPELINE, False, False),
    ("Qualification", "20", ForecastCategory.PIPELINE, False, False),
    ("Needs analysis", "40", ForecastCategory.PIPELINE, False, False),
    ("Proposal and negotiation", "60", ForecastCategory.BEST_CASE, False, False),
    ("Closing", "80", ForecastCategory.COMMIT, False, False),
    ("Closed won", "100", ForecastCategory.COMMIT, True, False),
    ("Closed lost", "0", ForecastCategory.OMITTED, False, True),
    ("Post-sale", "100", ForecastCategory.COMMIT, True, False),
]


def tenant_today(tenant: Tenant) -> dt.date:
    """Today's date in the tenant's time zone."""
    return timezone.now().astimezone(ZoneInfo(tenant.time_zone)).date()


def _user(actor: Membership | None) -> Any:
    return actor.user if actor is not None else None


def _raise_from_full_clean(obj: Any, exclude: list[str]) -> None:
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


# Pipelines and stages --------------------------------------------------------------


def pipeline_create_default(tenant: Tenant) -> Pipeline:
    """The tenant's first pipeline with the default stages (idempotent)."""
    existing = Pipeline.objects.filter(tenant=tenant).order_by("position", "id").first()
    if existing is not None:
        return existing
    return pipeline_create(tenant, name=DEFAULT_PIPELINE_NAME, actor=None, with_default_stages=True)


def pipeline_create(
    tenant: Tenant, *, name: str, actor: Membership | None, with_default_stages: bool = True
) -> Pipeline:
    """Create a pipeline, by default with the standard stages to rename or retire."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the pipeline a name."})
    if Pipeline.objects.filter(tenant=tenant, name__iexact=name).exists():
        raise ValidationError({"name": f"A pipeline named '{name}' already exists."})
    with transaction.atomic():
        position = (
            Pipeline.objects.filter(tenant=tenant).aggregate(m=Max("position"))["m"] or 0
        ) + 1
        pipeline = Pipeline.objects.create(tenant=tenant, name=name, position=position)
        if with_default_stages:
            Stage.objects.bulk_create(
                [
                    Stage(
                        tenant=tenant,
                        pipeline=pipeline,
                        name=s_name,
                        position=index,
                        probability=Decimal(prob),
                        forecast_category=category,
                        is_won=won,
                        is_lost=lost,
                    )
                    for index, (s_name, prob, category, won, lost) in enumerate(
                        DEFAULT_STAGES, start=1
                    )
                ]
            )
        audit_record(
            tenant, actor=_user(actor), action="pipeline.create", obj=pipeline, data={"name": name}
        )
    return pipeline


def pipeline_update(
    tenant: Tenant,
    *,
    pipeline: Pipeline,
    actor: Membership | None,
    name: str | None = None,
    is_active: bool | None = None,
    position: int | None = None,
) -> Pipeline:
    """Rename, reorder, or (de)activate a pipeline."""
    with transaction.atomic():
        locked = Pipeline.objects.select_for_update().get(tenant=tenant, pk=pipeline.pk)
        changes: dict[str, list[str]] = {}
        if name is not None and name.strip() != locked.name:
            name = name.strip()
            if not name:
                raise ValidationError({"name": "Give the pipeline a name."})
            if (
                Pipeline.objects.filter(tenant=tenant, name__iexact=name)
                .exclude(pk=locked.pk)
                .exists()
            ):
                raise ValidationError({"name": f"A pipeline named '{name}' already exists."})
            changes["name"] = [locked.name, name]
            locked.name = name
        if is_active is not None and is_active != locked.is_active:
            changes["is_active"] = [str(locked.is_active), str(is_active)]
            locked.is_active = is_active
        if position is not None and position != locked.position:
            changes["position"] = [str(locked.position), str(position)]
            locked.position = position
        locked.save()
        if changes:
            audit_record(
                tenant, actor=_user(actor), action="pipeline.update", obj=locked, data=changes
            )
    return locked


def pipeline_delete(tenant: Tenant, *, pipeline: Pipeline, actor: Membership | None) -> None:
    """Delete a pipeline that never held a deal (with its stages)."""
    with transaction.atomic():
        if Deal.objects.filter(tenant=tenant, pipeline=pipeline).exists():
            raise ValidationError(
                {"pipeline": f"'{pipeline.name}' has deals; deactivate it instead."}
            )
        audit_record(
            tenant,
            actor=_user(actor),
            action="pipeline.delete",
            obj=pipeline,
            data={"name": pipeline.name},
        )
        pipeline.delete()


def _check_stage_flags(is_won: bool, is_lost: bool) -> None:
    if is_won and is_lost:
        raise ValidationError({"is_lost": "A stage cannot be both won and lost."})


def stage_create(
    tenant: Tenant,
    *,
    pipeline: Pipeline,
    name: str,
    actor: Membership | None,
    probability: Decimal = Decimal("0"),
    forecast_category: str = ForecastCategory.PIPELINE,
    is_won: bool = False,
    is_lost: bool = False,
    position: int | None = None,
) -> Stage:
    """Add a stage to ``pipeline`` (at the end unless ``position`` is given)."""
    if pipeline.tenant_id != tenant.pk:
        raise ValidationError({"pipeline": "Choose a pipeline of this tenant."})
    _check_stage_flags(is_won, is_lost)
    name = name.strip()
    with transaction.atomic():
        if Stage.objects.filter(tenant=tenant, pipeline=pipeline, name__iexact=name).exists():
            raise ValidationError(
                {"name": f"'{pipeline.name}' already has a stage named '{name}'."}
            )
        if position is None:
            position = (
                Stage.objects.filter(tenant=tenant, pipeline=pipeline).aggregate(m=Max("position"))[
                    "m"
                ]
                or 0
            ) + 1
        stage = Stage(
            tenant=tenant,
            pipeline=pipeline,
            name=name,
            position=position,
            probability=probability,
            forecast_category=forecast_category,
            is_won=is_won,
            is_lost=is_lost,
        )
        _raise_from_full_clean(stage, exclude=["tenant", "pipeline"])
        stage.save()
        audit_record(
            tenant,
            actor=_user(actor),
            action="stage.create",
            obj=stage,
            data={"pipeline": pipeline.pk, "name": name},
        )
    return stage


STAGE_FIELDS = {
    "name",
    "probability",
    "forecast_category",
    "is_won",
    "is_lost",
    "is_active",
    "position",
}


def stage_update(tenant: Tenant, *, stage: Stage, actor: Membership | None, **fields: Any) -> Stage:
    """Rename a stage, change its defaults, retire (``is_active=False``) or restore it.

    The won/lost flags of a stage that holds deals cannot change (they decide
    the deals' status). Defaults apply to deals moved into the stage later.
    """
    unknown = set(fields) - STAGE_FIELDS
    if unknown:
        raise ValidationError(
            {name: "This field cannot be changed here." for name in sorted(unknown)}
        )
    with transaction.atomic():
        locked = Stage.objects.select_for_update().get(tenant=tenant, pk=stage.pk)
        changes: dict[str, list[str]] = {}
        for name, value in fields.items():
            if name == "name":
                value = value.strip()
            if getattr(locked, name) != value:
                changes[name] = [str(getattr(locked, name)), str(value)]
                setattr(locked, name, value)
        _check_stage_flags(locked.is_won, locked.is_lost)
        if ("is_won" in changes or "is_lost" in changes) and Deal.objects.filter(
            tenant=tenant, stage=locked
        ).exists():
            field = "is_won" if "is_won" in changes else "is_lost"
            raise ValidationError(
                {field: f"'{locked.name}' holds deals; its won/lost flags cannot change."}
            )
        if (
            "name" in changes
            and Stage.objects.filter(
                tenant=tenant, pipeline_id=locked.pipeline_id, name__iexact=locked.name
            )
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise ValidationError(
                {"name": f"This pipeline already has a stage named '{locked.name}'."}
            )
        _raise_from_full_clean(locked, exclude=["tenant", "pipeline"])
        locked.save()
        if changes:
            audit_record(
                tenant, actor=_user(actor), action="stage.update", obj=locked, data=changes
            )
    return locked


def stage_reorder(
    tenant: Tenant, *, pipeline: Pipeline, stage_ids: Sequence[int], actor: Membership | None
) -> list[Stage]:
    """Put the pipeline's stages in the order of ``stage_ids`` (all of them, once each)."""
    with transaction.atomic():
        stages = {
            s.pk: s
            for s in Stage.objects.select_for_update().filter(tenant=tenant, pipeline=pipeline)
        }
        if sorted(stage_ids) != sorted(stages) or len(set(stage_ids)) != len(stage_ids):
            raise ValidationError({"stages": "List every stage of the pipeline exactly once."})
        ordered = []
        for position, pk in enumerate(stage_ids, start=1):
            stage = stages[pk]
            stage.position = position
            ordered.append(stage)
        Stage.objects.bulk_update(ordered, ["position"])
        audit_record(
            tenant,
            actor=_user(actor),
            action="stage.reorder",
            obj=pipeline,
            data={"order": list(stage_ids)},
        )
    return ordered


def stage_delete(tenant: Tenant, *, stage: Stage, actor: Membership | None) -> None:
    """Delete a stage that never held a deal; otherwise retire it instead."""
    with transaction.atomic():
        used = (
            Deal.objects.filter(tenant=tenant, stage=stage).exists()
            or StageChange.objects.filter(tenant=tenant, to_stage=stage).exists()
        )
        if used:
            raise ValidationError({"stage": f"'{stage.name}' has deals; retire it instead."})
        audit_record(
            tenant, actor=_user(actor), action="stage.delete", obj=stage, data={"name": stage.name}
        )
        stage.delete()


# Exchange rates ----------------------------------------------------------------------


def _check_exchange_rate(
    tenant: Tenant, *, currency: str, period: FiscalPeriod, rate: Decimal, pk: int | None
) -> str:
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise ValidationError({"currency": "Use a three-letter ISO 4217 code, e.g. EUR."})
    if currency == tenant.currency:
        raise ValidationError(
            {"currency": f"{currency} is the tenant's currency; its rate is always 1."}
        )
    if period.tenant_id != tenant.pk or period.kind != PeriodKind.MONTH:
        raise ValidationError({"period": "Choose a month of this tenant's fiscal calendar."})
    if rate is None or rate <= 0:
        raise ValidationError({"rate": "The rate must be above zero."})
    clash = ExchangeRate.objects.filter(tenant=tenant, currency=currency, period=period)
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if clash.exists():
        raise ValidationError(
            {"period": f"{period.label} already has a {currency} rate; edit that one."}
        )
    return currency


def exchange_rate_create(
    tenant: Tenant,
    *,
    actor: Membership | None,
    currency: str,
    period: FiscalPeriod,
    rate: Decimal,
) -> ExchangeRate:
    """Add a month's rate (units of tenant currency per unit of ``currency``).

    Raises ValidationError naming the field: a bad or the tenant's own
    currency, a period that is not one of the tenant's months, a rate not
    above zero, or a month that already has a rate for the currency.
    Deals saved afterwards use it; stored deals keep their rate until saved.
    """
    with transaction.atomic():
        currency = _check_exchange_rate(
            tenant, currency=currency, period=period, rate=rate, pk=None
        )
        row = ExchangeRate.objects.create(
            tenant=tenant, currency=currency, period=period, rate=rate
        )
        audit_record(
            tenant,
            actor=_user(actor),
            action="exchange_rate.create",
            obj=row,
            data={"currency": currency, "period": period.label, "rate": str(rate)},
        )
    return row


def exchange_rate_update(
    tenant: Tenant,
    *,
    exchange_rate: ExchangeRate,
    actor: Membership | None,
    **fields: Any,
) -> ExchangeRate:
    """Change a rate's currency, month or rate (same checks as create)."""
    unknown = set(fields) - {"currency", "period", "rate"}
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    with transaction.atomic():
        row = ExchangeRate.objects.select_for_update().get(tenant=tenant, pk=exchange_rate.pk)
        before = {"currency": row.currency, "period": row.period.label, "rate": str(row.rate)}
        period = fields.get("period", row.period)
        rate = fields.get("rate", row.rate)
        row.currency = _check_exchange_rate(
            tenant,
            currency=fields.get("currency", row.currency),
            period=period,
            rate=rate,
            pk=row.pk,
        )
        row.period, row.rate = period, rate
        row.save()
        audit_record(
            tenant,
            actor=_user(actor),
            action="exchange_rate.update",
            obj=row,
            data={
                "before": before,
                "after": {"currency": row.currency, "period": period.label, "rate": str(rate)},
            },
        )
    return row


def exchange_rate_delete(
    tenant: Tenant, *, exchange_rate: ExchangeRate, actor: Membership | None
) -> None:
    """Remove a rate; deals already converted with it keep their rate."""
    with transaction.atomic():
        audit_record(
            tenant,
            actor=_user(actor),
            action="exchange_rate.delete",
            obj=exchange_rate,
            data={"currency": exchange_rate.currency, "rate": str(exchange_rate.rate)},
        )
        exchange_rate.delete()


# Accounts --------------------------------------------------------------------------

ACCOUNT_FIELDS = {
    "name",
    "segment",
    "industry",
    "owner",
    "customer_since",
    "churned_on",
    "external_id",
}


def _check_member(tenant: Tenant, field: str, member: Membership | None) -> None:
    if member is not None and member.tenant_id != tenant.pk:
        raise ValidationError({field: "Choose a member of this tenant."})


def _check_account_dates(account: Account) -> None:
    if (
        account.churned_on
        and account.customer_since
        and account.churned_on < account.customer_since
    ):
        raise ValidationError(
            {"churned_on": "An account cannot churn before it became a customer."}
        )


def account_create(
    tenant: Tenant, *, actor: Membership | None, name: str, **fields: Any
) -> Account:
    unknown = set(fields) - ACCOUNT_FIELDS
    if unknown:
        raise ValidationError({f: "Unknown field." for f in sorted(unknown)})
    if fields.get("owner") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["owner"])
    account = Account(tenant=tenant, name=name.strip(), **fields)
    if not account.external_id:
        account.external_id = None
    _check_account_dates(account)
    _raise_from_full_clean(account, exclude=["tenant", "owner"])
    with transaction.atomic():
        _check_external_id(tenant, Account, account.external_id, None)
        account.save()
        audit_record(
            tenant,
            actor=_user(actor),
            action="account.create",
            obj=account,
            data={"name": account.name},
        )
    return account


def account_update(
    tenant: Tenant, *, account: Account, actor: Membership | None, **fields: Any
) -> Account:
    unknown = set(fields) - ACCOUNT_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    if fields.get("owner") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["owner"])
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(tenant=tenant, pk=account.pk)
        changes = _apply(locked, fields)
        if not locked.external_id:
            locked.external_id = None
        _check_account_dates(locked)
        _raise_from_full_clean(locked, exclude=["tenant", "owner"])
        _check_external_id(tenant, Account, locked.external_id, locked.pk)
        locked.save()
        if changes:
            audit_record(
                tenant, actor=_user(actor), action="account.update", obj=locked, data=changes
            )
    return locked


def account_delete(tenant: Tenant, *, account: Account, actor: Membership | None) -> None:
    with transaction.atomic():
        if Deal.objects.filter(tenant=tenant, account=account).exists():
            raise ValidationError({"account": f"'{account.name}' has deals; it cannot be deleted."})
        audit_record(
            tenant,
            actor=_user(actor),
            action="account.delete",
            obj=account,
            data={"name": account.name},
        )
        account.delete()


def _apply(obj: Any, fields: dict[str, Any]) -> dict[str, list[str]]:
    changes: dict[str, list[str]] = {}
    for name, value in fields.items():
        old = getattr(obj, name)
        if old != value:
            changes[name] = [str(old), str(value)]
            setattr(obj, name, value)
    return changes


def _check_external_id(tenant: Tenant, model: Any, external_id: str | None, pk: int | None) -> None:
    if not external_id:
        return
    clash = model.objects.filter(tenant=tenant, external_id=external_id)
    if pk is not None:
        clash = clash.exclude(pk=pk)
    if clash.exists():
        raise ValidationError(
            {"external_id": f"Another record already has external id '{external_id}'."}
        )


# Deals -----------------------------------------------------------------------------

DEAL_FIELDS = {
    "name",
    "account",
    "owner",
    "amount",
    "currency",
    "exchange_rate",
    "pipeline",
    "stage",
    "probability",
    "forecast_category",
    "expected_close_date",
    "close_date",
    "lost_reason",
    "deal_type",
    "product_line",
    "source",
    "external_id",
    "created_on",
}
SplitInput = Sequence[tuple[Membership, Decimal]]


def check_owner_allowed(
    tenant: Tenant, *, actor: Membership | None, owner: Membership, field: str = "owner"
) -> None:
    """A rep may only own deals (accounts, leads, activities) themselves; a
    manager may give them to their subtree; admins to anyone. Raises
    ValidationError naming ``field``."""
    _check_member(tenant, field, owner)
    if actor is None or actor.role == Role.ADMIN:
        return
    if actor.role == Role.FINANCE:
        raise ValidationError({field: "Finance has read-only access to deals."})
    if not visible_memberships(tenant, viewer=actor).filter(pk=owner.pk).exists():
        if actor.role == Role.REP:
            raise ValidationError({field: "A rep can only assign records to themselves."})
        raise ValidationError({field: "Choose a member of your team."})


def apply_stage(
    deal: Deal,
    stage: Stage,
    *,
    today: dt.date,
    close_date: dt.date | None = None,
    keep_probability: bool = False,
    keep_forecast: bool = False,
) -> None:
    """Put ``deal`` in ``stage``: status follows the stage's won/lost flags;
    a closed deal gets a close date (``close_date``, else its existing one if it
    was already closed the same way, else today); probability and forecast
    category take the stage's defaults unless kept."""
    previous_status = deal.status if deal.pk else None
    deal.stage = stage
    deal.pipeline_id = stage.pipeline_id
    deal.status = stage.status
    if deal.status == DealStatus.OPEN:
        deal.close_date = None
        deal.lost_reason = ""
    else:
        if close_date is not None:
            deal.close_date = close_date
        elif previous_status != deal.status or deal.close_date is None:
            deal.close_date = today
    if not keep_probability:
        deal.probability = stage.probability
    if not keep_forecast:
        deal.forecast_category = stage.forecast_category


# (currency, first day of the month) -> units of tenant currency per unit.
RateTable = dict[tuple[str, dt.date], Decimal]


def rate_day(deal: Deal) -> dt.date:
    """The day whose month's rate converts ``deal``: its close date once won,
    else its expected close date."""
    if deal.status == DealStatus.WON and deal.close_date is not None:
        return deal.close_date
    return deal.expected_close_date


def exchange_rate_table(tenant: Tenant) -> RateTable:
    """The tenant's whole rate table in one query (tenant months start on the 1st)."""
    return {
        (currency, start): rate
        for currency, start, rate in ExchangeRate.objects.filter(
            tenant=tenant, period__kind=PeriodKind.MONTH
        ).values_list("currency", "period__start", "rate")
    }


def exchange_rate_on(tenant: Tenant, *, currency: str, day: dt.date) -> Decimal | None:
    """The table's rate for ``currency`` in the month containing ``day``, or None."""
    return (
        ExchangeRate.objects.filter(
            tenant=tenant,
            currency=currency,
            period__kind=PeriodKind.MONTH,
            period__start__lte=day,
            period__end__gte=day,
        )
        .values_list("rate", flat=True)
        .first()
    )


def missing_rate_message(tenant: Tenant, *, currency: str, day: dt.date) -> str:
    return (
        f"No exchange rate for {currency} in {day:%B %Y}: add it to the exchange-rate "
        f"table or give the exchange rate (units of {tenant.currency} per {currency})."
    )


def compute_base_amount(
    tenant: Tenant,
    deal: Deal,
    *,
    explicit_rate: bool,
    keep_stored: bool = False,
    rates: RateTable | None = None,
) -> None:
    """Check the currency and rate; set ``base_amount`` (tenant currency).

    A deal in the tenant's currency has rate 1. A deal in another currency
    uses its rate when one was given (``explicit_rate``, above zero); else the
    rate table's rate for the month of ``rate_day(deal)`` (from ``rates`` when
    the caller loaded the table, else one query); else, with ``keep_stored``
    (an existing deal whose currency did not change), the rate it has.
    Raises ValidationError on ``exchange_rate`` naming the currency and month.
    """
    deal.currency = (deal.currency or tenant.currency).upper()
    if deal.currency == tenant.currency:
        deal.exchange_rate = Decimal("1")
    elif explicit_rate:
        if deal.exchange_rate is None or deal.exchange_rate <= 0:
            raise ValidationError(
                {
                    "exchange_rate": (
                        f"Give the exchange rate from {deal.currency} to {tenant.currency} "
                        f"(units of {tenant.currency} per {deal.currency})."
                    )
                }
            )
    else:
        day = rate_day(deal)
        if rates is not None:
            rate = rates.get((deal.currency, day.replace(day=1)))
        else:
            rate = exchange_rate_on(tenant, currency=deal.currency, day=day)
        if rate is not None:
            deal.exchange_rate = rate
        elif not keep_stored:
            raise ValidationError(
                {"exchange_rate": missing_rate_message(tenant, currency=deal.currency, day=day)}
            )
    deal.base_amount = to_cents(deal.amount * deal.exchange_rate)


def split_rows(deal: Deal, pairs: Sequence[tuple[int, Decimal]]) -> list[DealSplit]:
    """DealSplit rows for ``pairs`` of (member id, percent), credited amounts
    allocated from the deal's base amount (FORMULAS.md section 2)."""
    credits = allocate_credit(deal.base_amount, [p for _, p in pairs])
    return [
        DealSplit(
            tenant_id=deal.tenant_id,
            deal=deal,
            member_id=member_id,
            percent=percent,
            credited_amount=credit,
            position=position,
        )
        for position, ((member_id, percent), credit) in enumerate(zip(pairs, credits, strict=True))
    ]


def check_split_pairs(pairs: Sequence[tuple[int, Decimal]], field: str = "splits") -> None:
    """Percents above 0, members once each, adding up to exactly 100."""
    if not pairs:
        raise ValidationError({field: "Give at least one split."})
    seen: set[int] = set()
    for member_id, percent in pairs:
        if member_id in seen:
            raise ValidationError({field: "A member appears twice in the splits."})
        seen.add(member_id)
        if percent <= 0 or percent > HUNDRED:
            raise ValidationError(
                {field: f"Split percentages must be above 0 and at most 100 (got {percent})."}
            )
        if percent != percent.quantize(Decimal("0.01")):
            raise ValidationError(
                {field: f"Split percentages have at most two decimals (got {percent})."}
            )
    total = sum((p for _, p in pairs), Decimal("0"))
    if total != HUNDRED:
        raise ValidationError(
            {
                field: "Split percentages must add up to exactly 100 "
                f"(they add up to {total.quantize(HUNDRED)})."
            }
        )


def _validate_deal(tenant: Tenant, deal: Deal) -> None:
    if deal.stage.pipeline_id != deal.pipeline_id:
        raise ValidationError(
            {"stage": f"'{deal.stage.name}' is not a stage of '{deal.pipeline.name}'."}
        )
    if deal.account is not None and deal.account.tenant_id != tenant.pk:
        raise ValidationError({"account": "Choose an account of this tenant."})
    if deal.status == DealStatus.LOST and not deal.lost_reason:
        deal.lost_reason = ""
    if not deal.external_id:
        deal.external_id = None
    _raise_from_full_clean(
        deal, exclude=["tenant", "owner", "account", "pipeline", "stage", "base_amount"]
    )


def _record_stage_change(
    tenant: Tenant,
    deal: Deal,
    from_stage_id: int | None,
    *,
    actor: Membership | None,
    via: str,
    at: dt.datetime | None = None,
) -> None:
    StageChange.objects.create(
        tenant=tenant,
        deal=deal,
        from_stage_id=from_stage_id,
        to_stage_id=deal.stage_id,
        changed_at=at or timezone.now(),
        changed_by=actor,
        source=via,
    )


def _replace_splits(tenant: Tenant, deal: Deal, pairs: Sequence[tuple[int, Decimal]]) -> None:
    DealSplit.objects.filter(tenant=tenant, deal=deal).delete()
    DealSplit.objects.bulk_create(split_rows(deal, pairs))


def _current_pairs(tenant: Tenant, deal: Deal) -> list[tuple[int, Decimal]]:
    if not deal.custom_splits:
        return [(deal.owner_id, HUNDRED)]
    return list(
        DealSplit.objects.filter(tenant=tenant, deal=deal)
        .order_by("position", "id")
        .values_list("member_id", "percent")
    )


def deal_create(
    tenant: Tenant,
    *,
    actor: Membership | None,
    via: str = ChangeSource.PAGE,
    name: str,
    owner: Membership,
    amount: Decimal,
    stage: Stage,
    expected_close_date: dt.date,
    pipeline: Pipeline | None = None,
    currency: str | None = None,
    exchange_rate: Decimal | None = None,
    probability: Decimal | None = None,
    forecast_category: str | None = None,
    close_date: dt.date | None = None,
    lost_reason: str = "",
    deal_type: str = DealType.NEW_BUSINESS,
    product_line: str = "",
    source: str = "",
    external_id: str | None = None,
    account: Account | None = None,
    created_on: dt.date | None = None,
    splits: SplitInput | None = None,
) -> Deal:
    """Create a deal in ``stage``; records its first stage entry and its
    splits (100 % to the owner unless ``splits`` are given).

    Raises ValidationError naming the field: stage outside the pipeline,
    retired stage, owner outside the actor's reach, missing exchange rate,
    splits not adding up to 100, duplicate external id.
    """
    check_owner_allowed(tenant, actor=actor, owner=owner)
    if stage.tenant_id != tenant.pk:
        raise ValidationError({"stage": "Choose a stage of this tenant."})
    if not stage.is_active:
        raise ValidationError({"stage": f"'{stage.name}' is retired; choose another stage."})
    today = tenant_today(tenant)
    deal = Deal(
        tenant=tenant,
        name=name.strip(),
        owner=owner,
        amount=amount,
        currency=currency or "",
        exchange_rate=exchange_rate if exchange_rate is not None else Decimal("1"),
        pipeline_id=(pipeline or stage.pipeline).pk,
        expected_close_date=expected_close_date,
        lost_reason=lost_reason,
        deal_type=deal_type,
        product_line=product_line,
        source=source,
        external_id=external_id or None,
        account=account,
        created_on=created_on or today,
    )
    apply_stage(deal, stage, today=today, close_date=close_date)
    if pipeline is not None and stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": f"'{stage.name}' is not a stage of '{pipeline.name}'."})
    if probability is not None:
        deal.probability = probability
    if forecast_category:
        deal.forecast_category = forecast_category
    compute_base_amount(tenant, deal, explicit_rate=exchange_rate is not None)
    _validate_deal(tenant, deal)
    pairs = [(m.pk, p) for m, p in splits] if splits else [(owner.pk, HUNDRED)]
    for member, _ in splits or []:
        _check_member(tenant, "splits", member)
    check_split_pairs(pairs)
    deal.custom_splits = bool(splits)
    with transaction.atomic():
        _check_external_id(tenant, Deal, deal.external_id, None)
        deal.save()
        _record_stage_change(tenant, deal, None, actor=actor, via=via)
        DealSplit.objects.bulk_create(split_rows(deal, pairs))
        audit_record(
            tenant,
            actor=_user(actor),
            action="deal.create",
            obj=deal,
            data={"name": deal.name, "amount": str(deal.amount), "via": via},
        )
    return deal


def deal_update(
    tenant: Tenant,
    *,
    deal: Deal,
    actor: Membership | None,
    via: str = ChangeSource.PAGE,
    splits: SplitInput | None | object = ...,
    **fields: Any,
) -> Deal:
    """Change a deal. A new ``stage`` moves it (recorded in the stage history;
    probability and forecast category take the stage's defaults unless given
    in the same call); ``splits`` replaces the credit splits (``None`` or an
    empty list goes back to 100 % for the owner); amount, rate and owner
    changes recompute the credited amounts.
    """
    unknown = set(fields) - DEAL_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    with transaction.atomic():
        locked = (
            Deal.objects.select_for_update()
            .select_related("stage", "pipeline")
            .get(tenant=tenant, pk=deal.pk)
        )
        old_stage_id, old_owner_id = locked.stage_id, locked.owner_id
        old_base = locked.base_amount
        new_stage: Stage | None = fields.pop("stage", None)
        new_pipeline: Pipeline | None = fields.pop("pipeline", None)
        close_date = fields.pop("close_date", None)
        if "owner" in fields:
            check_owner_allowed(tenant, actor=actor, owner=fields["owner"])
        # Without a rate, the table's rate for the month; failing that the stored
        # rate stands while the currency does (a new currency needs a rate).
        explicit_rate = "exchange_rate" in fields
        keep_stored = fields.get("currency", locked.currency) == locked.currency
        changes = _apply(locked, fields)
        if new_pipeline is not None and new_stage is None and new_pipeline.pk != locked.pipeline_id:
            raise ValidationError({"stage": f"Choose a stage of '{new_pipeline.name}'."})
        if new_stage is not None and new_stage.tenant_id != tenant.pk:
            raise ValidationError({"stage": "Choose a stage of this tenant."})
        if (
            new_pipeline is not None
            and new_stage is not None
            and new_stage.pipeline_id != new_pipeline.pk
        ):
            raise ValidationError(
                {"stage": f"'{new_stage.name}' is not a stage of '{new_pipeline.name}'."}
            )
        today = tenant_today(tenant)
        if new_stage is not None and new_stage.pk != old_stage_id:
            if not new_stage.is_active:
                raise ValidationError(
                    {"stage": f"'{new_stage.name}' is retired; choose another stage."}
                )
            changes["stage"] = [str(old_stage_id), str(new_stage.pk)]
            apply_stage(
                locked,
                new_stage,
                today=today,
                close_date=close_date,
                keep_probability="probability" in fields,
                keep_forecast="forecast_category" in fields,
            )
        elif close_date is not None:
            if locked.status == DealStatus.OPEN:
                raise ValidationError(
                    {
                        "close_date": "An open deal has no close date; "
                        "set the expected close date instead."
                    }
                )
            changes["close_date"] = [str(locked.close_date), str(close_date)]
            locked.close_date = close_date
        compute_base_amount(tenant, locked, explicit_rate=explicit_rate, keep_stored=keep_stored)
        _validate_deal(tenant, locked)
        _check_external_id(tenant, Deal, locked.external_id, locked.pk)
        locked.save()
        if locked.stage_id != old_stage_id:
            _record_stage_change(tenant, locked, old_stage_id, actor=actor, via=via)
        if splits is not ...:
            pairs = _split_input_pairs(tenant, locked, splits)  # type: ignore[arg-type]
            _replace_splits(tenant, locked, pairs)
            changes["splits"] = [f"{m}:{p}" for m, p in pairs]
        elif locked.owner_id != old_owner_id or locked.base_amount != old_base:
            _replace_splits(tenant, locked, _current_pairs(tenant, locked))
        if changes:
            audit_record(
                tenant,
                actor=_user(actor),
                action="deal.update",
                obj=locked,
                data={**changes, "via": [via]},
            )
    return locked


def _split_input_pairs(
    tenant: Tenant, deal: Deal, splits: SplitInput | None
) -> list[tuple[int, Decimal]]:
    if not splits:
        deal.custom_splits = False
        pairs = [(deal.owner_id, HUNDRED)]
    else:
        for member, _ in splits:
            _check_member(tenant, "splits", member)
        pairs = [(m.pk, p) for m, p in splits]
        deal.custom_splits = True
    check_split_pairs(pairs)
    Deal.objects.filter(tenant=tenant, pk=deal.pk).update(custom_splits=deal.custom_splits)
    return pairs


def deal_move(
    tenant: Tenant,
    *,
    deal: Deal,
    stage: Stage,
    actor: Membership | None,
    via: str = ChangeSource.BOARD,
    close_date: dt.date | None = None,
    lost_reason: str | None = None,
) -> Deal:
    """Move a deal to ``stage`` (the board's drag and drop); recorded in the history."""
    fields: dict[str, Any] = {"stage": stage}
    if close_date is not None:
        fields["close_date"] = close_date
    if lost_reason is not None:
        fields["lost_reason"] = lost_reason
    return deal_update(tenant, deal=deal, actor=actor, via=via, **fields)


def deal_splits_set(
    tenant: Tenant,
    *,
    deal: Deal,
    splits: SplitInput | None,
    actor: Membership | None,
    via: str = ChangeSource.PAGE,
) -> Deal:
    """Replace a deal's credit splits; ``None`` or [] means 100 % to the owner."""
    return deal_update(tenant, deal=deal, actor=actor, via=via, splits=splits)


def deal_delete(tenant: Tenant, *, deal: Deal, actor: Membership | None) -> None:
    with transaction.atomic():
        audit_record(
            tenant,
            actor=_user(actor),
            action="deal.delete",
            obj=deal,
            data={"name": deal.name, "amount": str(deal.amount)},
        )
        Lead.objects.filter(tenant=tenant, converted_deal=deal).update(converted_deal=None)
        deal.delete()


# Leads -----------------------------------------------------------------------------

LEAD_FIELDS = {
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
    "owner",
    "account",
    "converted_deal",
    "external_id",
}


def normalise_lead_dates(values: dict[str, Any], *, today: dt.date) -> dict[str, Any]:
    """Check and complete a lead's AIDA stage and dates (in place, returned).

    - With no stage, the stage is the furthest one that has a date.
    - The current stage's date defaults to today; an earlier stage without a
      date takes the next known date (it was passed no later than that).
    - Dates never go backwards, and no stage beyond the current one has a date.
    Raises ValidationError naming the date field at fault.
    """
    dates: dict[AidaStage, Any] = {s: values.get(AIDA_DATE_FIELD[s]) for s in AIDA_ORDER}
    stage = values.get("stage") or None
    if stage is None:
        reached = [s for s in AIDA_ORDER if dates[s] is not None]
        stage = reached[-1] if reached else AidaStage.AWARENESS
    stage = AidaStage(stage)
    current = AIDA_ORDER.index(stage)
    for later in AIDA_ORDER[current + 1 :]:
        if dates[later] is not None:
            raise ValidationError(
                {
                    AIDA_DATE_FIELD[later]: (
                        f"The lead is at {stage.label}; it cannot have reached {later.label}."
                    )
                }
            )
    if dates[stage] is None:
        dates[stage] = today
    for index in range(current - 1, -1, -1):
        if dates[AIDA_ORDER[index]] is None:
            dates[AIDA_ORDER[index]] = dates[AIDA_ORDER[index + 1]]
    for index in range(1, current + 1):
        before, after = AIDA_ORDER[index - 1], AIDA_ORDER[index]
        if dates[after] < dates[before]:
            raise ValidationError(
                {
                    AIDA_DATE_FIELD[after]: (
                        f"{after.label} ({dates[after]}) cannot come before "
                        f"{before.label} ({dates[before]})."
                    )
                }
            )
    values["stage"] = stage.value
    for s in AIDA_ORDER:
        values[AIDA_DATE_FIELD[s]] = dates[s]
    return values


def lead_create(tenant: Tenant, *, actor: Membership | None, name: str, **fields: Any) -> Lead:
    """Create a lead; the AIDA dates are completed by ``normalise_lead_dates``."""
    unknown = set(fields) - LEAD_FIELDS
    if unknown:
        raise ValidationError({f: "Unknown field." for f in sorted(unknown)})
    if fields.get("owner") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["owner"])
    fields = normalise_lead_dates(dict(fields), today=tenant_today(tenant))
    if fields.get("converted_deal") is not None:
        fields["stage"] = AidaStage.ACTION.value
        fields = normalise_lead_dates(fields, today=tenant_today(tenant))
    lead = Lead(tenant=tenant, name=name.strip(), **fields)
    if not lead.external_id:
        lead.external_id = None
    _raise_from_full_clean(lead, exclude=["tenant", "owner", "account", "converted_deal"])
    with transaction.atomic():
        _check_external_id(tenant, Lead, lead.external_id, None)
        lead.save()
        audit_record(
            tenant, actor=_user(actor), action="lead.create", obj=lead, data={"name": lead.name}
        )
    return lead


def lead_update(tenant: Tenant, *, lead: Lead, actor: Membership | None, **fields: Any) -> Lead:
    """Change a lead; moving its ``stage`` forward stamps today's date on it."""
    unknown = set(fields) - LEAD_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    if fields.get("owner") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["owner"])
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(tenant=tenant, pk=lead.pk)
        values = {name: getattr(locked, name) for name in ("stage", *AIDA_DATE_FIELD.values())}
        values.update(fields)
        if fields.get("converted_deal") is not None:
            values["stage"] = AidaStage.ACTION.value
        if "stage" in values:
            # A stage moved back clears the dates beyond it.
            current = AIDA_ORDER.index(AidaStage(values["stage"]))
            for later in AIDA_ORDER[current + 1 :]:
                if AIDA_DATE_FIELD[later] not in fields:
                    values[AIDA_DATE_FIELD[later]] = None
        values = normalise_lead_dates(values, today=tenant_today(tenant))
        changes = _apply(locked, values)
        if not locked.external_id:
            locked.external_id = None
        _raise_from_full_clean(locked, exclude=["tenant", "owner", "account", "converted_deal"])
        _check_external_id(tenant, Lead, locked.external_id, locked.pk)
        locked.save()
        if changes:
            audit_record(tenant, actor=_user(actor), action="lead.update", obj=locked, data=changes)
    return locked


def lead_convert(tenant: Tenant, *, lead: Lead, deal: Deal, actor: Membership | None) -> Lead:
    """Mark a lead as converted into ``deal`` (it reaches Action today)."""
    return lead_update(tenant, lead=lead, actor=actor, converted_deal=deal)


def lead_delete(tenant: Tenant, *, lead: Lead, actor: Membership | None) -> None:
    with transaction.atomic():
        audit_record(
            tenant, actor=_user(actor), action="lead.delete", obj=lead, data={"name": lead.name}
        )
        lead.delete()


# Activities ------------------------------------------------------------------------

ACTIVITY_FIELDS = {
    "kind",
    "subject",
    "occurred_on",
    "member",
    "outcome",
    "deal",
    "lead",
    "account",
    "external_id",
}


def _check_activity(tenant: Tenant, activity: Activity) -> None:
    if activity.deal_id is None and activity.lead_id is None and activity.account_id is None:
        raise ValidationError({"deal": "Log the activity against a deal, a lead or an account."})
    if not activity.external_id:
        activity.external_id = None
    _raise_from_full_clean(activity, exclude=["tenant", "member", "deal", "lead", "account"])


def activity_create(
    tenant: Tenant, *, actor: Membership | None, member: Membership | None = None, **fields: Any
) -> Activity:
    """Log an activity (by ``member``, default the actor) against a deal, lead or account."""
    unknown = set(fields) - ACTIVITY_FIELDS
    if unknown:
        raise ValidationError({f: "Unknown field." for f in sorted(unknown)})
    member = member or actor
    if member is None:
        raise ValidationError({"member": "Say who performed the activity."})
    check_owner_allowed(tenant, actor=actor, owner=member, field="member")
    activity = Activity(tenant=tenant, member=member, **fields)
    _check_activity(tenant, activity)
    with transaction.atomic():
        _check_external_id(tenant, Activity, activity.external_id, None)
        activity.save()
        audit_record(
            tenant,
            actor=_user(actor),
            action="activity.create",
            obj=activity,
            data={"kind": activity.kind},
        )
    return activity


def activity_update(
    tenant: Tenant, *, activity: Activity, actor: Membership | None, **fields: Any
) -> Activity:
    unknown = set(fields) - ACTIVITY_FIELDS
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    if fields.get("member") is not None:
        check_owner_allowed(tenant, actor=actor, owner=fields["member"], field="member")
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(tenant=tenant, pk=activity.pk)
        changes = _apply(locked, fields)
        _check_activity(tenant, locked)
        _check_external_id(tenant, Activity, locked.external_id, locked.pk)
        locked.save()
        if changes:
            audit_record(
                tenant, actor=_user(actor), action="activity.update", obj=locked, data=changes
            )
    return locked


def activity_delete(tenant: Tenant, *, activity: Activity, actor: Membership | None) -> None:
    with transaction.atomic():
        audit_record(
            tenant,
            actor=_user(actor),
            action="activity.delete",
            obj=activity,
            data={"kind": activity.kind},
        )
        activity.delete()
