"""Deals: create, update, stage moves with their history, credit splits, delete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pipeline.credit import allocate_credit, equal_share, split_shares
from pipeline.models import (
    HUNDRED,
    Account,
    CategoryChange,
    ChangeSource,
    Deal,
    DealSplit,
    DealStatus,
    DealType,
    Lead,
    Pipeline,
    Stage,
    StageChange,
)
from pipeline.selectors import stage_entry_days
from pipeline.services.common import (
    _apply,
    _check_external_id,
    _check_member,
    _raise_from_full_clean,
    _user,
    deal_figures,
    publish_activities_removed,
    tenant_today,
)
from pipeline.services.exchange_rates import compute_base_amount
from spm import events
from spm.models import Membership, Tenant
from spm.reach import Reach
from spm.services import audit_record

DEAL_FIELDS: Final = (
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
)


SplitInput = Sequence[tuple[Membership, Decimal]]


def check_owner_allowed(
    tenant: Tenant, *, actor: Membership | None, owner: Membership, field: str = "owner"
) -> None:
    """``owner`` must be a member of the tenant whom ``actor`` may give the
    record (deal, account, lead, activity) to (``spm.reach.Reach.check_assignee``);
    with no actor (imports, the system) anyone. Raises ValidationError naming
    ``field``."""
    _check_member(tenant, field, owner)
    if actor is not None:
        Reach(actor).check_assignee(owner, field=field)


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


def split_rows(deal: Deal, pairs: Sequence[tuple[int, Decimal]]) -> list[DealSplit]:
    """DealSplit rows for ``pairs`` of (member id, percent), credited amounts
    allocated from the deal's base amount (docs/formulas.md section 2)."""
    credits = allocate_credit(deal.base_amount, split_shares([p for _, p in pairs]))
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
    """Percents above 0, members once each, adding up to exactly 100, or all the
    equal share (``pipeline.credit.split_shares``)."""
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
    percents = [p for _, p in pairs]
    if sum(Fraction(s) for s in split_shares(percents)) != HUNDRED:
        total = sum(percents, Decimal("0"))
        equal = (
            f", or all be the equal share ({equal_share(len(pairs))} each for {len(pairs)})"
            if len(pairs) > 1
            else ""
        )
        raise ValidationError(
            {
                field: "Split percentages must add up to exactly 100 "
                f"(they add up to {total.quantize(HUNDRED)}){equal}."
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


def _record_category_change(
    tenant: Tenant,
    deal: Deal,
    from_category: str,
    *,
    actor: Membership | None,
    via: str,
) -> None:
    CategoryChange.objects.create(
        tenant=tenant,
        deal=deal,
        from_category=from_category,
        to_category=deal.forecast_category,
        changed_at=timezone.now(),
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
        _record_category_change(tenant, deal, "", actor=actor, via=via)
        DealSplit.objects.bulk_create(split_rows(deal, pairs))
        audit_record(
            tenant,
            actor=_user(actor),
            action="deal.create",
            obj=deal,
            data={"name": deal.name, "amount": str(deal.amount), "via": via},
        )
        events.publish(events.DealCreated(tenant_id=tenant.pk, deals=(deal_figures(deal),)))
        entry = events.StageEntry(
            deal_id=deal.pk, from_stage_id=None, to_stage_id=deal.stage_id, day=today
        )
        events.publish(events.StageEntered(tenant_id=tenant.pk, entries=(entry,)))
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
    unknown = set(fields) - set(DEAL_FIELDS)
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    with transaction.atomic():
        locked = (
            Deal.objects.select_for_update()
            .select_related("stage", "pipeline")
            .get(tenant=tenant, pk=deal.pk)
        )
        old_stage_id, old_owner_id = locked.stage_id, locked.owner_id
        old_category = locked.forecast_category
        old_base = locked.base_amount
        old_figures = deal_figures(locked)
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
        if locked.forecast_category != old_category:
            _record_category_change(tenant, locked, old_category, actor=actor, via=via)
        splits_changed = True
        if splits is not ...:
            pairs = _split_input_pairs(tenant, locked, splits)  # type: ignore[arg-type]
            _replace_splits(tenant, locked, pairs)
            changes["splits"] = [f"{m}:{p}" for m, p in pairs]
        elif locked.owner_id != old_owner_id or locked.base_amount != old_base:
            _replace_splits(tenant, locked, _current_pairs(tenant, locked))
        else:
            splits_changed = False
        if changes:
            audit_record(
                tenant,
                actor=_user(actor),
                action="deal.update",
                obj=locked,
                data={**changes, "via": [via]},
            )
        _publish_update(
            tenant,
            old_figures,
            locked,
            changed=bool(changes),
            splits_changed=splits_changed,
            today=today,
        )
    return locked


def _publish_update(
    tenant: Tenant,
    old: events.DealFigures,
    deal: Deal,
    *,
    changed: bool,
    splits_changed: bool,
    today: dt.date,
) -> None:
    """DealChanged when any field, the base amount or the splits changed (a
    probability or a created-on date moves figures too), and StageEntered
    when it moved."""
    new = deal_figures(deal)
    if changed or new != old or splits_changed:
        change = events.DealChange(old=old, new=new, splits_changed=splits_changed)
        events.publish(events.DealChanged(tenant_id=tenant.pk, deals=(change,)))
    if new.stage_id != old.stage_id:
        entry = events.StageEntry(
            deal_id=deal.pk, from_stage_id=old.stage_id, to_stage_id=new.stage_id, day=today
        )
        events.publish(events.StageEntered(tenant_id=tenant.pk, entries=(entry,)))


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
    """Delete a deal with its splits, stage history and activities; published
    with the days of the stage entries it takes along."""
    with transaction.atomic():
        audit_record(
            tenant,
            actor=_user(actor),
            action="deal.delete",
            obj=deal,
            data={"name": deal.name, "amount": str(deal.amount)},
        )
        days = tuple(sorted(stage_entry_days(tenant, deal_ids=[deal.pk])))
        publish_activities_removed(tenant, deal=deal)
        events.publish(
            events.DealDeleted(
                tenant_id=tenant.pk, deals=(deal_figures(deal),), stage_entry_days=days
            )
        )
        Lead.objects.filter(tenant=tenant, converted_deal=deal).update(converted_deal=None)
        deal.delete()
