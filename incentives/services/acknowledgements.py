"""Acknowledgement of published statements within the tenant's dispute window.

Publishing a run opens one acknowledgement per statement (``acknowledgements_open``)
and notifies each member. Within the window the member acknowledges or
disputes; after it, the beat job accepts what is unanswered
(``acknowledgements_auto_accept``) and says so on the page."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from incentives.models import (
    Acknowledgement,
    AckState,
    CalcRun,
    NotificationKind,
    Statement,
)
from incentives.services.notifications import notify
from spm.formatting import formats_for
from spm.models import Membership, Tenant
from spm.services import audit_record


class WindowClosed(Exception):
    """The statement's dispute window has closed (the API answers 409)."""

    def __init__(self, closed_at: dt.datetime, tenant: Tenant) -> None:
        self.closed_at = closed_at
        self.closed_on = timezone.localtime(closed_at, _zone(tenant)).date()
        super().__init__(
            f"The dispute window of this statement closed on {self.closed_on.isoformat()}."
        )


def _zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.time_zone)


def statement_link(tenant: Tenant, statement_id: int) -> str:
    return reverse("incentives:statement-detail", args=[tenant.slug, statement_id])


def acknowledgements_open(tenant: Tenant, *, run: CalcRun) -> list[Acknowledgement]:
    """One pending acknowledgement per statement of the published ``run``, its
    window closing the tenant's ``dispute_window_days`` after publication;
    each member is notified (in the app and by email) with a link."""
    published_at = run.published_at or timezone.now()
    closes = published_at + dt.timedelta(days=tenant.dispute_window_days)
    statements = list(
        Statement.objects.filter(tenant=tenant, run=run).select_related("membership__user")
    )
    acks = Acknowledgement.objects.bulk_create(
        Acknowledgement(
            tenant=tenant,
            statement=s,
            membership_id=s.membership_id,
            period_id=s.period_id,
            published_at=published_at,
            window_closes_at=closes,
        )
        for s in statements
    )
    closes_on = formats_for(tenant).date(timezone.localtime(closes, _zone(tenant)).date())
    for statement in statements:  # one notification per member of the run
        notify(
            tenant,
            recipients=[statement.membership],
            kind=NotificationKind.STATEMENT_PUBLISHED,
            title=f"Your statement for {run.period.label} is published",
            body=f"Acknowledge it or dispute it by {closes_on}; "
            "unanswered, it is accepted automatically then.",
            link=statement_link(tenant, statement.pk),
        )
    return acks


def acknowledgement_for(tenant: Tenant, *, statement: Statement) -> Acknowledgement | None:
    return Acknowledgement.objects.filter(tenant=tenant, statement=statement).first()


def _open_ack(
    tenant: Tenant, *, statement: Statement, actor: Membership, now: dt.datetime
) -> Acknowledgement:
    """The statement's acknowledgement, locked, if ``actor`` may answer it now.

    Raises ``ValidationError`` when the statement is not the actor's own
    published one or was already answered, ``WindowClosed`` after the window."""
    if statement.membership_id != actor.pk:
        raise ValidationError({"statement": "Only the statement's member answers it."})
    ack = (
        Acknowledgement.objects.select_for_update()
        .filter(tenant=tenant, statement=statement)
        .first()
    )
    if ack is None:
        raise ValidationError({"statement": "Only a published statement can be answered."})
    if now > ack.window_closes_at:
        raise WindowClosed(ack.window_closes_at, tenant)
    return ack


def statement_acknowledge(
    tenant: Tenant, *, statement: Statement, actor: Membership, now: dt.datetime | None = None
) -> Acknowledgement:
    """The member accepts their published statement within the window.

    Raises ``WindowClosed`` after it, ``ValidationError`` when it was answered."""
    now = now or timezone.now()
    with transaction.atomic():
        ack = _open_ack(tenant, statement=statement, actor=actor, now=now)
        if ack.state != AckState.PENDING:
            raise ValidationError(
                {"statement": f"This statement is already {ack.get_state_display().lower()}."}
            )
        ack.state = AckState.ACKNOWLEDGED
        ack.answered_at = now
        ack.save(update_fields=["state", "answered_at"])
        audit_record(
            tenant,
            actor=actor.user,
            action="statement.acknowledge",
            obj=statement,
            data={"period": statement.period_id},
        )
    return ack


def acknowledgement_mark_disputed(
    tenant: Tenant, *, statement: Statement, actor: Membership, now: dt.datetime
) -> Acknowledgement:
    """Within the window, mark the statement disputed (``disputes.dispute_open``
    calls it in its transaction). A statement already acknowledged can still
    be disputed while the window is open."""
    ack = _open_ack(tenant, statement=statement, actor=actor, now=now)
    if ack.state != AckState.DISPUTED:
        ack.state = AckState.DISPUTED
        ack.answered_at = now
        ack.save(update_fields=["state", "answered_at"])
    return ack


def acknowledgements_auto_accept(tenant: Tenant, *, now: dt.datetime | None = None) -> int:
    """Accept every pending acknowledgement whose window has closed (the beat
    job); each member is told. Returns the number accepted; safe to run twice."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Acknowledgement.objects.select_for_update(of=("self",))
            .filter(tenant=tenant, state=AckState.PENDING, window_closes_at__lt=now)
            .select_related("membership__user", "period")
        )
        Acknowledgement.objects.filter(tenant=tenant, pk__in=[a.pk for a in due]).update(
            state=AckState.AUTO_ACCEPTED, answered_at=now
        )
        for ack in due:  # one notification per statement accepted
            notify(
                tenant,
                recipients=[ack.membership],
                kind=NotificationKind.STATEMENT_AUTO_ACCEPTED,
                title=f"Your statement for {ack.period.label} was accepted automatically",
                body="Its dispute window closed without an answer.",
                link=statement_link(tenant, ack.statement_id),
            )
        if due:
            audit_record(
                tenant,
                actor=None,
                action="statement.auto_accept",
                obj=None,
                data={"statements": [a.statement_id for a in due]},
            )
    return len(due)
