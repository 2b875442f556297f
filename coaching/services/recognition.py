"""Recognition: kudos from anyone to anyone of the tenant, and the milestones
the app recognises on its own (docs/formulas.md, "Coaching: recognition"):

- 100% of quota: attainment of 1 or more in a quarter or year (KPI snapshots);
- top 3 on the attainment leaderboard of a period once it is closed;
- a goal of a member closed as achieved.

A milestone is recognised once (``Recognition.milestone`` is unique per
recipient); the scan is set-based (one query per kind) and safe to run twice.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Window
from django.db.models.functions import RowNumber

from coaching.models import Recognition, RecognitionKind
from coaching.services.notifications import notify_kudos
from goals.models import Goal, GoalStatus
from kpis.models import KpiValue, SubjectKind
from spm.formatting import formats_for
from spm.models import FiscalPeriod, Membership, PeriodKind, Tenant
from spm.services import audit_record

TOP = 3


def kudos_give(
    tenant: Tenant, *, actor: Membership, recipient: Membership, message: str
) -> Recognition:
    """Kudos from ``actor`` to ``recipient`` (anyone else of the tenant).
    Raises ``ValidationError`` on ``recipient`` (another tenant's member,
    oneself) or ``message`` (empty, over 500 characters)."""
    if recipient.tenant_id != tenant.pk:
        raise ValidationError({"recipient": "Choose a member of this company."})
    if recipient.pk == actor.pk:
        raise ValidationError({"recipient": "Give kudos to someone else."})
    message = message.strip()
    if not message:
        raise ValidationError({"message": "Say what they did well."})
    if len(message) > 500:
        raise ValidationError({"message": "Keep it to 500 characters."})
    with transaction.atomic():
        kudos = Recognition.objects.create(
            tenant=tenant,
            recipient=recipient,
            giver=actor,
            kind=RecognitionKind.KUDOS,
            message=message,
        )
        audit_record(tenant, actor=actor.user, action="coaching.kudos", obj=kudos)
        notify_kudos(tenant, recognition=kudos)
    return kudos


def _quota_reached(tenant: Tenant, periods: list[FiscalPeriod]) -> list[Recognition]:
    rows = KpiValue.objects.filter(
        tenant=tenant,
        period__in=periods,
        subject_kind=SubjectKind.MEMBER,
        kpi="attainment",
        value__gte=1,
    ).values_list("subject_id", "period_id", "value")
    labels = {p.pk: p.label for p in periods}
    fmt = formats_for(tenant)
    return [
        Recognition(
            tenant=tenant,
            recipient_id=member_id,
            kind=RecognitionKind.QUOTA,
            period_id=period_id,
            milestone=f"quota:{period_id}",
            message=f"Reached {fmt.percent(value, 0)} of quota in {labels[period_id]}",
        )
        for member_id, period_id, value in rows
    ]


def _top_three(tenant: Tenant, periods: list[FiscalPeriod]) -> list[Recognition]:
    closed = [p for p in periods if p.is_closed]
    if not closed:
        return []
    ranked = (
        KpiValue.objects.filter(
            tenant=tenant,
            period__in=closed,
            subject_kind=SubjectKind.MEMBER,
            kpi="attainment",
            value__isnull=False,
        )
        .annotate(
            place=Window(RowNumber(), partition_by="period_id", order_by=["-value", "subject_id"])
        )
        .values_list("subject_id", "period_id", "place")
    )
    labels = {p.pk: p.label for p in closed}
    return [
        Recognition(
            tenant=tenant,
            recipient_id=member_id,
            kind=RecognitionKind.TOP3,
            period_id=period_id,
            milestone=f"top3:{period_id}",
            message=f"Number {place} on the attainment leaderboard of {labels[period_id]}",
        )
        for member_id, period_id, place in ranked
        if place <= TOP
    ]


def _goals_achieved(tenant: Tenant) -> list[Recognition]:
    goals = Goal.objects.filter(
        tenant=tenant, status=GoalStatus.ACHIEVED, owner_membership__isnull=False
    ).values_list("pk", "owner_membership_id", "title")
    return [
        Recognition(
            tenant=tenant,
            recipient_id=owner_id,
            kind=RecognitionKind.GOAL,
            goal_id=goal_id,
            milestone=f"goal:{goal_id}",
            message=f"Achieved the goal “{title}”",
        )
        for goal_id, owner_id, title in goals
    ]


def milestones_recognise(tenant: Tenant, *, periods: list[FiscalPeriod]) -> int:
    """Recognise the milestones reached in ``periods`` (quarters and years;
    months are left out) and every achieved goal, once each; returns how many
    recognitions are new. Members who left the tenant's active people are skipped."""
    counted = [p for p in periods if p.kind in (PeriodKind.QUARTER, PeriodKind.YEAR)]
    found = _quota_reached(tenant, counted) + _top_three(tenant, counted) + _goals_achieved(tenant)
    active = set(
        Membership.objects.filter(
            tenant=tenant, is_active=True, pk__in={r.recipient_id for r in found}
        ).values_list("pk", flat=True)
    )
    fresh = [r for r in found if r.recipient_id in active]
    with transaction.atomic():
        before = Recognition.objects.filter(tenant=tenant).exclude(milestone="").count()
        Recognition.objects.bulk_create(fresh, ignore_conflicts=True)
        return Recognition.objects.filter(tenant=tenant).exclude(milestone="").count() - before
