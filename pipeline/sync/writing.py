"""Step 3 of an upsert: one transaction of bulk inserts and updates, then the side tables."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from pipeline.models import (
    HUNDRED,
    Account,
    Activity,
    CategoryChange,
    Deal,
    DealSplit,
    DealStatus,
    DealType,
    ImportKind,
    Lead,
    Stage,
    StageChange,
)
from pipeline.services import (
    ACCOUNT_FIELDS,
    ACTIVITY_FIELDS,
    DEAL_FIELDS,
    LEAD_FIELDS,
    apply_stage,
    compute_base_amount,
    split_rows,
)
from pipeline.services.common import (
    deal_figures,
    publish_accounts_written,
    publish_activities_written,
    publish_leads_written,
)
from pipeline.sync.lookups import MODELS, _key
from pipeline.sync.results import UpsertResult
from pipeline.sync.validation import Validated
from spm import events
from spm.models import Membership, Tenant
from spm.services import audit_record


def columns(model: Any, fields: Sequence[str], *, without: Sequence[str] = ()) -> list[str]:
    """The columns of a model's ``fields`` (a foreign key's ``<name>_id``)."""
    return [model._meta.get_field(f).attname for f in fields if f not in without]


SIMPLE_UPDATE_FIELDS: dict[str, list[str]] = {
    ImportKind.ACCOUNTS: columns(Account, ACCOUNT_FIELDS, without=("external_id",)),
    # (A lead's account is not synced: the files and the bulk API carry none.)
    ImportKind.LEADS: columns(Lead, LEAD_FIELDS, without=("account", "external_id")),
    ImportKind.ACTIVITIES: columns(Activity, ACTIVITY_FIELDS, without=("external_id",)),
}


DEAL_UPDATE_FIELDS = [
    *columns(Deal, DEAL_FIELDS, without=("external_id",)),
    "base_amount",
    "status",
    "custom_splits",
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
    tenant's context. Rows unchanged since the last sync are not touched.
    Publishes one event per kind of change with all its rows (``spm.events``)."""
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


# The fields each kind's events carry, old and new (the days its figures count by).
EVENT_DATES: dict[str, tuple[str, ...]] = {
    ImportKind.ACCOUNTS: ("customer_since", "churned_on"),
    ImportKind.LEADS: ("awareness_on",),
    ImportKind.ACTIVITIES: ("occurred_on",),
}


def _write_simple(tenant: Tenant, validated: Validated, result: UpsertResult) -> None:
    model = MODELS[validated.kind]
    existing = validated.lookups.existing
    dates = EVENT_DATES[validated.kind]
    to_create, to_update = [], []
    written: list[tuple[Any, tuple[Any, ...]]] = []
    for row in validated.rows:
        obj = existing.get(row.external_id)
        if obj is None:
            obj = model(tenant=tenant, external_id=row.external_id)
            _fill_simple(obj, row.values)
            to_create.append(obj)
            written.append((obj, (None,) * len(dates)))
            continue
        old = _days(obj, dates)
        if _fill_simple(obj, row.values):
            to_update.append(obj)
            written.append((obj, old))
        else:
            result.unchanged += 1
    model.objects.bulk_create(to_create, batch_size=2000)
    _upsert(model, to_update, SIMPLE_UPDATE_FIELDS[validated.kind])
    result.created, result.updated = len(to_create), len(to_update)
    changes = [(obj.pk, old, _days(obj, dates)) for obj, old in written]
    if validated.kind == ImportKind.ACCOUNTS:
        publish_accounts_written(tenant, changes)
    elif validated.kind == ImportKind.LEADS:
        publish_leads_written(tenant, ((pk, old[0], new[0]) for pk, old, new in changes))
    else:
        publish_activities_written(tenant, ((pk, old[0], new[0]) for pk, old, new in changes))


def _days(obj: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(obj, name) for name in names)


def _write_deals(
    tenant: Tenant,
    validated: Validated,
    result: UpsertResult,
    *,
    actor: Membership | None,
    via: str,
) -> None:
    """Publishes the deals created, the deals changed (old and new figures) and
    the stage entries of new and moved deals, one event each."""
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
    old_figures: dict[int, events.DealFigures] = {}
    moves: list[tuple[Deal, int | None]] = []
    recategorised: list[tuple[Deal, str]] = []
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
            old_figures[deal.pk] = deal_figures(deal)
        old_category = deal.forecast_category if not is_new else ""
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
        if deal.forecast_category != old_category:
            recategorised.append((deal, old_category))
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
    CategoryChange.objects.bulk_create(
        [
            CategoryChange(
                tenant=tenant,
                deal=deal,
                from_category=old,
                to_category=deal.forecast_category,
                changed_at=now,
                changed_by=actor,
                source=via,
            )
            for deal, old in recategorised
        ],
        batch_size=2000,
    )
    updated_ids = {deal.pk for deal in to_update}
    replaced = [deal.pk for deal, _ in split_plans if deal.pk in updated_ids]
    if replaced:
        DealSplit.objects.filter(tenant=tenant, deal_id__in=replaced).delete()
    DealSplit.objects.bulk_create(
        [split for deal, pairs in split_plans for split in split_rows(deal, pairs)], batch_size=2000
    )
    split_ids = {deal.pk for deal, _pairs in split_plans}
    if to_create:
        created = tuple(deal_figures(deal) for deal in to_create)
        events.publish(events.DealCreated(tenant_id=tenant.pk, deals=created))
    if to_update:
        changes = tuple(
            events.DealChange(
                old=old_figures[deal.pk],
                new=deal_figures(deal),
                splits_changed=deal.pk in split_ids,
            )
            for deal in to_update
        )
        events.publish(events.DealChanged(tenant_id=tenant.pk, deals=changes))
    if moves:
        entries = tuple(
            events.StageEntry(
                deal_id=deal.pk, from_stage_id=old, to_stage_id=deal.stage_id, day=today
            )
            for deal, old in moves
        )
        events.publish(events.StageEntered(tenant_id=tenant.pk, entries=entries))
