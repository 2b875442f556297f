"""Coaching emails (Django's mail backend): the 1:1 reminder the day before,
the review steps, kudos received. Each member chooses which they get
(``NotificationPreference``, every kind on by default). Mail goes out after
the writer's transaction commits; nothing is sent for a rolled-back write."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coaching.models import Meeting, NotificationPreference, Recognition, Review
from coaching.selectors import meeting_window
from spm.formatting import formats_for
from spm.models import Membership, Tenant
from spm.services import audit_record


def preferences_of(tenant: Tenant, *, member: Membership) -> NotificationPreference:
    """The member's choices (the defaults, unsaved, until they save theirs)."""
    found = NotificationPreference.objects.filter(tenant=tenant, member=member).first()
    return found or NotificationPreference(tenant=tenant, member=member)


def preferences_save(
    tenant: Tenant,
    *,
    actor: Membership,
    meeting_reminders: bool,
    review_steps: bool,
    kudos_received: bool,
) -> NotificationPreference:
    """Save the actor's own choice of coaching emails."""
    with transaction.atomic():
        prefs, _ = NotificationPreference.objects.update_or_create(
            tenant=tenant,
            member=actor,
            defaults={
                "meeting_reminders": meeting_reminders,
                "review_steps": review_steps,
                "kudos_received": kudos_received,
            },
        )
        audit_record(tenant, actor=actor.user, action="coaching.preferences_save", obj=prefs)
    return prefs


def _wants(tenant: Tenant, member_ids: list[int], kind: str) -> set[int]:
    """Of ``member_ids``, those who did not turn ``kind`` off (one query)."""
    off = set(
        NotificationPreference.objects.filter(
            tenant=tenant, member_id__in=member_ids, **{kind: False}
        ).values_list("member_id", flat=True)
    )
    return {pk for pk in member_ids if pk not in off}


def _send(subject: str, body: str, to: list[str]) -> None:
    if to:
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)
        )


def notify_review_step(tenant: Tenant, *, review: Review, step: str) -> None:
    """Tell the other side of a review that a step happened (self review in,
    manager review in, acknowledged)."""
    member = Membership.objects.select_related("user").get(tenant=tenant, pk=review.member_id)
    manager = (
        Membership.objects.select_related("user")
        .filter(tenant=tenant, pk=review.manager_id)
        .first()
    )
    to_member = step == "manager"
    recipient = member if to_member else manager
    if recipient is None or not _wants(tenant, [recipient.pk], "review_steps"):
        return
    url = reverse("coaching:review", kwargs={"tenant_slug": tenant.slug, "pk": review.pk})
    text = {
        "self": f"{member.display_name} submitted their self review.",
        "manager": f"{manager.display_name if manager else 'Your manager'} submitted your review.",
        "acknowledged": f"{member.display_name} acknowledged their review.",
    }[step]
    _send(f"[{tenant.name}] Review: {text}", f"{text}\n\nOpen it: {url}\n", [recipient.user.email])


def notify_kudos(tenant: Tenant, *, recognition: Recognition) -> None:
    recipient = recognition.recipient
    if not _wants(tenant, [recipient.pk], "kudos_received"):
        return
    giver = recognition.giver.display_name if recognition.giver else tenant.name
    _send(
        f"[{tenant.name}] Kudos from {giver}",
        f"{giver}: {recognition.message}\n",
        [recipient.user.email],
    )


def meeting_reminders_send(tenant: Tenant, *, now: dt.datetime) -> int:
    """Email both people of each scheduled 1:1 starting within a day of
    ``now`` that was not reminded yet (each who wants reminders), and mark
    those meetings reminded: running it twice sends nothing more."""
    fmt = formats_for(tenant)
    sent = 0
    with transaction.atomic():
        meetings = list(
            meeting_window(tenant, start=now, end=now + dt.timedelta(days=1)).select_for_update(
                of=("self",)
            )
        )
        ids = [m.manager_id for m in meetings] + [m.member_id for m in meetings]
        wanted = _wants(tenant, ids, "meeting_reminders")
        for meeting in meetings:
            url = reverse("coaching:meeting", kwargs={"tenant_slug": tenant.slug, "pk": meeting.pk})
            when = fmt.datetime(meeting.scheduled_at)
            for person, other in (
                (meeting.manager, meeting.member),
                (meeting.member, meeting.manager),
            ):
                if person.pk in wanted:
                    _send(
                        f"[{tenant.name}] 1:1 with {other.display_name} {when}",
                        f"Your 1:1 with {other.display_name} is on {when}.\n"
                        f"The agenda is pre-filled: {url}\n",
                        [person.user.email],
                    )
                    sent += 1
        Meeting.objects.filter(tenant=tenant, pk__in=[m.pk for m in meetings]).update(
            reminded_at=timezone.now()
        )
    return sent
