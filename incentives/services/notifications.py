"""Notifications: in the app always, by email unless the member opted out.

``notify`` records one ``Notification`` per recipient in the caller's
transaction and, after commit, queues one task that emails those whose
preference for the kind allows it (Django's mail framework: SMTP configured
by ``EMAIL_*`` in the environment, the console in development). Every
notification carries a link to the page it is about."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from incentives.models import Notification, NotificationKind, NotificationPreference
from spm.models import Membership, Tenant
from spm.outbox import enqueue_on_commit

EMAIL_TASK = "incentives.tasks.notifications_email_task"


def notify(
    tenant: Tenant,
    *,
    recipients: Iterable[Membership],
    kind: str,
    title: str,
    link: str,
    body: str = "",
) -> list[Notification]:
    """Record ``kind`` for each distinct recipient and email them after commit.

    ``link`` is the page's path (``/<tenant>/incentives/...``); the email
    makes it absolute with ``SPM_BASE_URL``."""
    unique = {m.pk: m for m in recipients if m is not None}
    notes = Notification.objects.bulk_create(
        Notification(
            tenant=tenant,
            recipient_id=pk,
            kind=kind,
            title=title[:200],
            body=body,
            link=link,
        )
        for pk in sorted(unique)
    )
    if notes:
        enqueue_on_commit(EMAIL_TASK, tenant.pk, [n.pk for n in notes])
    return notes


def notifications_email(tenant: Tenant, *, notification_ids: list[int]) -> int:
    """Email the notifications ``notification_ids`` not yet emailed whose
    recipients receive their kind by email (the default); returns the number
    sent. Safe to run twice: a sent one is marked ``emailed``."""
    notes = list(
        Notification.objects.filter(tenant=tenant, pk__in=notification_ids, emailed=False)
        .select_related("recipient__user")
        .select_for_update(of=("self",))
    )
    muted = set(
        NotificationPreference.objects.filter(
            tenant=tenant,
            membership_id__in=[n.recipient_id for n in notes],
            email=False,
        ).values_list("membership_id", "kind")
    )
    sending = [n for n in notes if (n.recipient_id, n.kind) not in muted and n.recipient.user.email]
    if not sending:
        return 0
    messages = [_message(tenant, note) for note in sending]
    with get_connection() as connection:
        sent = connection.send_messages(messages) or 0
    Notification.objects.filter(tenant=tenant, pk__in=[n.pk for n in sending]).update(emailed=True)
    return sent


def _message(tenant: Tenant, note: Notification) -> EmailMessage:
    url = urljoin(settings.SPM_BASE_URL, note.link)
    choices = urljoin(settings.SPM_BASE_URL, f"/{tenant.slug}/incentives/notifications/")
    body = "\n\n".join(
        part
        for part in (
            f"Hello {note.recipient.display_name},",
            note.title,
            note.body,
            f"Open it: {url}",
            f"You receive this because of your notification settings in {tenant.name}; "
            f"change them at {choices}",
        )
        if part
    )
    return EmailMessage(
        subject=f"[{tenant.name}] {note.title}",
        body=body,
        to=[note.recipient.user.email],
    )


def notification_preferences_set(
    tenant: Tenant, *, membership: Membership, email_kinds: Iterable[str]
) -> dict[str, bool]:
    """Set which kinds ``membership`` receives by email (the others in the
    app only); returns kind -> emailed for every kind."""
    wanted = set(email_kinds)
    unknown = wanted - set(NotificationKind.values)
    if unknown:
        raise ValidationError({"email_kinds": f"Unknown kinds: {', '.join(sorted(unknown))}."})
    with transaction.atomic():
        NotificationPreference.objects.bulk_create(
            [
                NotificationPreference(
                    tenant=tenant, membership=membership, kind=kind, email=kind in wanted
                )
                for kind in NotificationKind.values
            ],
            update_conflicts=True,
            unique_fields=["tenant", "membership", "kind"],
            update_fields=["email"],
        )
    return {kind: kind in wanted for kind in NotificationKind.values}


def notification_preferences(tenant: Tenant, *, membership: Membership) -> dict[str, bool]:
    """Kind -> whether ``membership`` receives it by email (default: yes)."""
    chosen = dict(
        NotificationPreference.objects.filter(tenant=tenant, membership=membership).values_list(
            "kind", "email"
        )
    )
    return {kind: chosen.get(kind, True) for kind in NotificationKind.values}


def notifications_read(tenant: Tenant, *, membership: Membership) -> int:
    """Mark every unread notification of ``membership`` read; returns how many."""
    return Notification.objects.filter(
        tenant=tenant, recipient=membership, read_at__isnull=True
    ).update(read_at=timezone.now())
