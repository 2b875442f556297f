"""Quota writes: set, delete and bulk upsert, with the shared validation, the per-tenant
quota lock and the history rows every quota write leaves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from goals import selectors
from goals.models import (
    Measure,
    Quota,
    QuotaChange,
    QuotaSource,
)
from goals.smart import parse_number
from spm import events
from spm.db.locks import advisory_xact_lock
from spm.models import FiscalPeriod, Membership, Team, Tenant
from spm.money import CENT, MONEY_LIMIT, MONEY_MAX
from spm.periods import active_days
from spm.services import PeriodClosedError, audit_record, period_require_open
from spm.versioning import current_version

STALE_QUOTA = (
    "Someone else changed this quota since the grid was shown. Reload the grid to see "
    "their amount, or enter yours again to replace it."
)


@dataclass(frozen=True)
class QuotaInput:
    """One quota to write: exactly one of ``membership`` and ``team``."""

    period: FiscalPeriod
    amount: Decimal
    membership: Membership | None = None
    team: Team | None = None
    measure: str = Measure.BOOKINGS

    @property
    def key(self) -> tuple[str, int, str]:
        subject = f"m{self.membership.pk}" if self.membership else f"t{self.team.pk}"  # type: ignore[union-attr]
        return subject, self.period.pk, self.measure


def _lock_quotas(tenant: Tenant) -> None:
    """Serialise quota writes per tenant, so check-then-write cannot race."""
    advisory_xact_lock(tenant.pk, "goals.quotas")


# How a closed period refuses a quota write (``period_require_open``).
QUOTAS_FROZEN = "its quotas cannot be changed"


def _closed_message(period: FiscalPeriod) -> str:
    return f"{period.label} is closed; {QUOTAS_FROZEN}."


def _validate_quota_input(
    tenant: Tenant, scope: selectors.QuotaScope, item: QuotaInput
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if (item.membership is None) == (item.team is None):
        errors["membership"] = "Give either a member or a team, not both and not neither."
        return errors
    if item.period.tenant_id != tenant.pk:
        errors["period"] = "Choose a period of this tenant."
    elif item.period.is_closed:
        errors["period"] = _closed_message(item.period)
    if item.measure not in Measure.values:
        errors["measure"] = (
            f"'{item.measure}' is not a measure; use one of {', '.join(Measure.values)}."
        )
    if item.amount is None:
        errors["amount"] = "Enter an amount."
    elif item.amount < 0:
        errors["amount"] = "A quota cannot be negative."
    elif item.amount >= MONEY_LIMIT:
        # Checked before the decimals: quantizing 1e30 would itself fail.
        errors["amount"] = f"The amount is too large (at most {MONEY_MAX:,})."
    elif item.amount != item.amount.quantize(CENT):
        errors["amount"] = "Use at most two decimal places."
    if item.membership is not None:
        m = item.membership
        if m.tenant_id != tenant.pk or not scope.can_write(membership_id=m.pk, team_id=None):
            errors["membership"] = "You cannot set quotas for this member."
        elif (
            "period" not in errors
            and active_days(item.period.start, item.period.end, m.start_date, m.end_date) == 0
        ):
            errors["membership"] = (
                f"{m.display_name} is not active in {item.period.label} "
                f"(active {m.start_date:%Y-%m-%d} to {m.end_date or 'now'})."
            )
    elif item.team is not None and (
        item.team.tenant_id != tenant.pk
        or not scope.can_write(membership_id=None, team_id=item.team.pk)
    ):
        errors["team"] = "You cannot set quotas for this team."
    return errors


def _refusal(item: QuotaInput, errors: dict[str, str]) -> ValidationError:
    """The error refusing ``item``: PeriodClosedError (the API's 409, as every
    write into a closed period) when its period is closed, else ValidationError."""
    if "period" in errors and item.period.is_closed:
        return PeriodClosedError(errors)
    return ValidationError(errors)


def _quotas_write(
    tenant: Tenant, *, actor: Membership, items: Sequence[QuotaInput], source: str
) -> list[Quota]:
    """Check every item (raising the first refusal), then, under the quota
    lock and with the periods guarded open, write them all; returns the
    quotas in the items' order. Call inside the caller's transaction."""
    scope = selectors.quota_scope(tenant, viewer=actor)
    for item in items:
        errors = _validate_quota_input(tenant, scope, item)
        if errors:
            raise _refusal(item, errors)
    _lock_quotas(tenant)
    period_require_open(tenant, period_ids={i.period.pk for i in items}, what=QUOTAS_FROZEN)
    return _upsert_quotas(tenant, actor=actor, items=items, source=source)


def _upsert_quotas(
    tenant: Tenant, *, actor: Membership, items: Sequence[QuotaInput], source: str
) -> list[Quota]:
    """Create or update quotas in bulk, write one history row per change and
    publish one ``QuotaSet`` with the changed quotas. Caller holds the
    transaction and the quota lock and has validated items."""
    period_ids = {i.period.pk for i in items}
    member_ids = {i.membership.pk for i in items if i.membership is not None}
    team_ids = {i.team.pk for i in items if i.team is not None}
    existing = {
        (q.subject_key, q.period_id, q.measure): q
        for q in Quota.objects.select_for_update()
        .filter(tenant=tenant, period_id__in=period_ids)
        .filter(Q(membership_id__in=member_ids) | Q(team_id__in=team_ids))
    }
    to_create: list[Quota] = []
    to_update: list[Quota] = []
    history: list[QuotaChange] = []
    result: list[Quota] = []
    for item in items:
        quota = existing.get(item.key)
        if quota is None:
            quota = Quota(
                tenant=tenant,
                period=item.period,
                membership=item.membership,
                team=item.team,
                measure=item.measure,
                amount=item.amount,
                source=source,
                updated_by=actor.user,
            )
            to_create.append(quota)
            existing[item.key] = quota
            old = None
        elif quota.amount == item.amount:
            result.append(quota)
            continue
        else:
            old = quota.amount
            quota.amount = item.amount
            quota.source = source
            quota.updated_by = actor.user
            quota.updated_at = timezone.now()
            if quota.pk is not None and quota not in to_update:
                to_update.append(quota)
        history.append(
            QuotaChange(
                tenant=tenant,
                quota=quota,
                period=item.period,
                membership=item.membership,
                team=item.team,
                measure=item.measure,
                old_amount=old,
                new_amount=item.amount,
                source=source,
                changed_by=actor.user,
            )
        )
        result.append(quota)
    Quota.objects.bulk_create(to_create)
    if to_update:
        Quota.objects.bulk_update(to_update, ["amount", "source", "updated_by", "updated_at"])
    for change in history:
        change.quota_id = change.quota.pk  # type: ignore[union-attr]
    QuotaChange.objects.bulk_create(history)
    if history:
        changed = tuple(_ref(change) for change in history)
        events.publish(events.QuotaSet(tenant_id=tenant.pk, quotas=changed))
    return result


def _ref(quota: Quota | QuotaChange) -> events.QuotaRef:
    return events.QuotaRef(
        period_id=quota.period_id,
        membership_id=quota.membership_id,
        team_id=quota.team_id,
        measure=quota.measure,
    )


def quota_set(
    tenant: Tenant,
    *,
    actor: Membership,
    period: FiscalPeriod,
    amount: Decimal,
    membership: Membership | None = None,
    team: Team | None = None,
    measure: str = Measure.BOOKINGS,
    source: str = QuotaSource.MANUAL,
) -> Quota:
    """Set the quota of a member or a team for a period (create or change).

    Refused (ValidationError naming the field) when the period is closed, the
    amount is negative or has more than two decimals, the member is not active
    in the period, or the actor may not set this subject's quotas.
    """
    item = QuotaInput(
        period=period, amount=amount, membership=membership, team=team, measure=measure
    )
    with transaction.atomic():
        (quota,) = _quotas_write(tenant, actor=actor, items=[item], source=source)
        audit_record(
            tenant,
            actor=actor.user,
            action="quota.set",
            obj=quota,
            data={"amount": str(amount), "period": period.label, "subject": quota.subject_key},
        )
    return quota


def quota_cell_save(
    tenant: Tenant,
    *,
    actor: Membership,
    period: FiscalPeriod,
    text: str,
    measure: str = Measure.BOOKINGS,
    membership: Membership | None = None,
    team: Team | None = None,
    version: str | None = None,
) -> Quota | None:
    """One cell of the quota grid as it was typed: empty text removes the
    subject's quota of the period (when there is one), a number sets it
    (``quota_set``). Returns the quota set, or None once removed.

    ``version`` is the quota's version when the cell was shown
    (``spm.versioning``; empty for an empty cell); when the quota changed
    since, nothing is saved. None skips the check.

    Raises ValidationError naming ``amount`` when the text is not a number or
    the quota changed since ``version``, and every refusal of ``quota_set``
    and ``quota_delete``."""
    existing = Quota.objects.filter(
        tenant=tenant, period=period, measure=measure, membership=membership, team=team
    ).first()
    if version is not None and version != (current_version(existing) if existing else ""):
        raise ValidationError({"amount": STALE_QUOTA})
    amount, given = parse_number(text)
    if not given:
        if existing is not None:
            quota_delete(tenant, actor=actor, quota=existing)
        return None
    if amount is None:
        raise ValidationError(
            {"amount": f"'{text.strip()}' is not a number; enter an amount like 90000.00."}
        )
    return quota_set(
        tenant,
        actor=actor,
        period=period,
        amount=amount,
        membership=membership,
        team=team,
        measure=measure,
    )


def quota_delete(tenant: Tenant, *, actor: Membership, quota: Quota) -> None:
    """Remove a quota of an open period; its history is kept."""
    scope = selectors.quota_scope(tenant, viewer=actor)
    if not scope.can_write(membership_id=quota.membership_id, team_id=quota.team_id):
        raise PermissionDenied("You cannot change this quota.")
    with transaction.atomic():
        _lock_quotas(tenant)
        period_require_open(tenant, period_ids=[quota.period_id], what=QUOTAS_FROZEN)
        period = FiscalPeriod.objects.get(tenant=tenant, pk=quota.period_id)
        QuotaChange.objects.create(
            tenant=tenant,
            quota=None,
            period=period,
            membership_id=quota.membership_id,
            team_id=quota.team_id,
            measure=quota.measure,
            old_amount=quota.amount,
            new_amount=None,
            source=QuotaSource.MANUAL,
            changed_by=actor.user,
        )
        audit_record(
            tenant,
            actor=actor.user,
            action="quota.delete",
            obj=quota,
            data={"amount": str(quota.amount), "period": period.label},
        )
        events.publish(events.QuotaDeleted(tenant_id=tenant.pk, quotas=(_ref(quota),)))
        quota.delete()


def quota_bulk_upsert(
    tenant: Tenant, *, actor: Membership, items: Sequence[QuotaInput], source: str = QuotaSource.API
) -> list[Quota]:
    """Create or update many quotas at once, all or nothing.

    Errors name the row and field (``rows[3].amount``); a subject and period
    given twice is refused. Returns the quotas in the order of ``items``.
    """
    if not items:
        raise ValidationError({"rows": "Give at least one quota."})
    scope = selectors.quota_scope(tenant, viewer=actor)
    errors: dict[str, str] = {}
    seen: set[tuple[str, int, str]] = set()
    for index, item in enumerate(items):
        for name, message in _validate_quota_input(tenant, scope, item).items():
            errors[f"rows[{index}].{name}"] = message
        if (item.membership is None) != (item.team is None):
            if item.key in seen:
                errors[f"rows[{index}].period"] = "This subject and period appear twice."
            seen.add(item.key)
    if errors:
        closed = any(i.period.tenant_id == tenant.pk and i.period.is_closed for i in items)
        raise PeriodClosedError(errors) if closed else ValidationError(errors)
    with transaction.atomic():
        _lock_quotas(tenant)
        period_require_open(tenant, period_ids=(i.period.pk for i in items), what=QUOTAS_FROZEN)
        quotas = _upsert_quotas(tenant, actor=actor, items=items, source=source)
        audit_record(
            tenant,
            actor=actor.user,
            action="quota.bulk_upsert",
            data={"rows": len(items), "source": source},
        )
    return quotas
