"""Disputes of published statements: open, comment, resolve, reject.

A member disputes their own published statement, or one of its lines, within
the dispute window, with a reason and optionally a file. Managers (up the
member's team tree) and finance see the queue. Finance resolves with an
adjustment, which the engine posts as a line in the statement's period when
it is still open, else in the next open period of the same kind; or rejects
with an answer. Every step is kept (``DisputeStep``) with who and when, and
the member is notified of each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from incentives.models import (
    Dispute,
    DisputeStatus,
    DisputeStep,
    NotificationKind,
    Statement,
    StatementLine,
)
from incentives.services.acknowledgements import acknowledgement_mark_disputed
from incentives.services.notifications import notify
from incentives.services.runs import adjustment_create
from spm import events
from spm.formatting import formats_for
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant
from spm.services import audit_record

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/csv",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def dispute_link(tenant: Tenant, dispute: Dispute) -> str:
    return reverse("incentives:dispute-detail", args=[tenant.slug, dispute.pk])


def _reviewers(tenant: Tenant, member: Membership) -> list[Membership]:
    """The managers of the teams on ``member``'s path and every finance member."""
    team = member.team
    team_ids = [int(x) for x in team.path.strip("/").split("/") if x] if team else []
    manager_ids = Team.objects.filter(tenant=tenant, pk__in=team_ids).values("manager_id")
    return list(
        Membership.objects.filter(tenant=tenant, is_active=True)
        .filter(Q(pk__in=manager_ids) | Q(role=Role.FINANCE))
        .exclude(pk=member.pk)
        .select_related("user")
    )


def _check_attachment(name: str, content_type: str, data: bytes | None) -> None:
    if data is None:
        return
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationError({"attachment": "The file is larger than 5 MB."})
    if content_type not in ATTACHMENT_TYPES:
        raise ValidationError(
            {"attachment": f"{name}: attach a PDF, PNG, JPEG, CSV, text or XLSX file."}
        )


def dispute_open(
    tenant: Tenant,
    *,
    statement: Statement,
    actor: Membership,
    reason: str,
    line: StatementLine | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """Dispute ``statement`` (or its ``line``) within its window.

    ``attachment`` is (file name, content type, bytes). Raises
    ``ValidationError`` naming the field (reason, line, attachment,
    statement) and ``WindowClosed`` after the window; nothing is saved then."""
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationError({"reason": "Say what is wrong."})
    if line is not None and line.statement_id != statement.pk:
        raise ValidationError({"line": "This line is not on the statement."})
    name, content_type, data = attachment or ("", "", None)
    _check_attachment(name, content_type, data)
    with transaction.atomic():
        acknowledgement_mark_disputed(tenant, statement=statement, actor=actor, now=now)
        dispute = Dispute.objects.create(
            tenant=tenant,
            statement=statement,
            line=line,
            membership=actor,
            reason=reason.strip(),
            attachment_name=name[:200],
            attachment_type=content_type,
            attachment=data,
        )
        DisputeStep.objects.create(
            tenant=tenant, dispute=dispute, kind=DisputeStep.Kind.OPENED, actor=actor, text=reason
        )
        audit_record(tenant, actor=actor.user, action="dispute.open", obj=dispute)
        events.publish(
            events.StatementDisputed(
                tenant_id=tenant.pk,
                dispute_id=dispute.pk,
                statement_id=statement.pk,
                membership_id=actor.pk,
            )
        )
        what = f"line {line.position + 1} ({line.component})" if line else "the statement"
        notify(
            tenant,
            recipients=_reviewers(tenant, actor),
            kind=NotificationKind.DISPUTE_OPENED,
            title=f"{actor.display_name} disputes {what} of {statement.period.label}",
            body=reason.strip(),
            link=dispute_link(tenant, dispute),
        )
    return dispute


def _locked_open(tenant: Tenant, dispute: Dispute) -> Dispute:
    locked = Dispute.objects.select_for_update().get(tenant=tenant, pk=dispute.pk)
    if locked.status != DisputeStatus.OPEN:
        raise ValidationError({"dispute": f"This dispute is already {locked.status}."})
    return locked


def _tell_member(tenant: Tenant, dispute: Dispute, actor: Membership, title: str, body: str):  # type: ignore[no-untyped-def]
    recipients = (
        [dispute.membership] if actor.pk != dispute.membership_id else _reviewers(tenant, actor)
    )
    notify(
        tenant,
        recipients=recipients,
        kind=NotificationKind.DISPUTE_STEP,
        title=title,
        body=body,
        link=dispute_link(tenant, dispute),
    )


def dispute_comment(
    tenant: Tenant, *, dispute: Dispute, actor: Membership, text: str
) -> DisputeStep:
    """A comment on an open dispute by anyone who reaches it; the member is
    told (or, when the member comments, their managers and finance)."""
    if not text.strip():
        raise ValidationError({"text": "Write the comment."})
    with transaction.atomic():
        dispute = _locked_open(tenant, dispute)
        step = DisputeStep.objects.create(
            tenant=tenant, dispute=dispute, kind=DisputeStep.Kind.COMMENT, actor=actor, text=text
        )
        _tell_member(
            tenant,
            dispute,
            actor,
            f"{actor.display_name} commented on the dispute of {dispute.statement.period.label}",
            text.strip(),
        )
    return step


def adjustment_period_for(tenant: Tenant, period: FiscalPeriod) -> FiscalPeriod:
    """``period`` when it is open, else the next open period of its kind."""
    if not period.is_closed:
        return period
    following = (
        FiscalPeriod.objects.filter(
            tenant=tenant, kind=period.kind, is_closed=False, start__gt=period.end
        )
        .order_by("start")
        .first()
    )
    if following is None:
        raise ValidationError({"amount": f"No open {period.kind} after {period.label}."})
    return following


def dispute_resolve(
    tenant: Tenant, *, dispute: Dispute, actor: Membership, amount: Decimal, answer: str
) -> Dispute:
    """Finance upholds the dispute with an adjustment of ``amount`` (posted by
    the next run of the statement's period, or of the next open one when it
    is closed) and an answer."""
    if not answer.strip():
        raise ValidationError({"answer": "Tell the member what was decided."})
    with transaction.atomic():
        dispute = _locked_open(tenant, dispute)
        statement = dispute.statement
        period = adjustment_period_for(tenant, statement.period)
        adjustment = adjustment_create(
            tenant,
            membership=dispute.membership,
            period=period,
            amount=amount,
            reason=f"dispute #{dispute.pk} on {statement.period.label}: {answer.strip()}",
            actor=actor,
        )
        _close(tenant, dispute, actor, DisputeStatus.RESOLVED, answer)
        dispute.adjustment = adjustment
        dispute.save(update_fields=["adjustment"])
        money = formats_for(tenant).money(amount)
        _tell_member(
            tenant,
            dispute,
            actor,
            f"Your dispute of {statement.period.label} is resolved: adjustment of {money}",
            f"{answer.strip()} The adjustment is paid with the next run of {period.label}.",
        )
    return dispute


def dispute_reject(tenant: Tenant, *, dispute: Dispute, actor: Membership, answer: str) -> Dispute:
    """Finance rejects the dispute with an answer the member reads."""
    if not answer.strip():
        raise ValidationError({"answer": "Tell the member why the dispute is rejected."})
    with transaction.atomic():
        dispute = _locked_open(tenant, dispute)
        _close(tenant, dispute, actor, DisputeStatus.REJECTED, answer)
        _tell_member(
            tenant,
            dispute,
            actor,
            f"Your dispute of {dispute.statement.period.label} is rejected",
            answer.strip(),
        )
    return dispute


def _close(tenant: Tenant, dispute: Dispute, actor: Membership, status: str, answer: str) -> None:
    dispute.status = status
    dispute.answer = answer.strip()
    dispute.closed_at = timezone.now()
    dispute.closed_by = actor
    dispute.save(update_fields=["status", "answer", "closed_at", "closed_by"])
    kind = (
        DisputeStep.Kind.RESOLVED if status == DisputeStatus.RESOLVED else DisputeStep.Kind.REJECTED
    )
    DisputeStep.objects.create(tenant=tenant, dispute=dispute, kind=kind, actor=actor, text=answer)
    audit_record(
        tenant, actor=actor.user, action=f"dispute.{status}", obj=dispute, data={"answer": answer}
    )
    events.publish(
        events.StatementDisputeResolved(
            tenant_id=tenant.pk,
            dispute_id=dispute.pk,
            statement_id=dispute.statement_id,
            membership_id=dispute.membership_id,
            outcome=status,
        )
    )
