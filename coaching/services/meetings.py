"""1:1 series and meetings: schedule, agenda, shared and private notes, hold.

Every write runs in a transaction with its audit row; a refused write raises
``ValidationError`` naming the field and saves nothing. The actor is a
``Membership`` of ``tenant``; what they may do comes from ``spm.reach``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from coaching.agenda import agenda_findings, baseline_of
from coaching.models import (
    AgendaItem,
    AgendaKind,
    CoachingSettings,
    Meeting,
    MeetingStatus,
    PrivateNote,
    Series,
)
from pipeline.services import tenant_today
from spm.models import Membership, Tenant
from spm.reach import Reach
from spm.services import audit_record


def settings_of(tenant: Tenant) -> CoachingSettings:
    """The tenant's coaching settings (the defaults, unsaved, until an admin saves them)."""
    found = CoachingSettings.objects.filter(tenant=tenant).first()
    return found or CoachingSettings(tenant=tenant)


def coaching_settings_save(tenant: Tenant, *, actor: Membership, **fields: Any) -> CoachingSettings:
    """Save the agenda thresholds and the skill scale (admins only)."""
    if not Reach(actor).is_admin:
        raise PermissionDenied("Only admins change the coaching settings.")
    with transaction.atomic():
        current = settings_of(tenant)
        for name, value in fields.items():
            setattr(current, name, value)
        current.full_clean(exclude=["tenant"])
        current.save()
        audit_record(tenant, actor=actor.user, action="coaching.settings_save", obj=current)
    return current


def _check_member(tenant: Tenant, *, actor: Membership, member: Membership) -> None:
    if member.tenant_id != tenant.pk:
        raise ValidationError({"member": "Choose a member of this company."})
    if not Reach(actor).may_coach(member):
        raise ValidationError(
            {"member": f"{member.display_name} is not in your team: choose someone you manage."}
        )


def series_create(
    tenant: Tenant,
    *,
    actor: Membership,
    member: Membership,
    first_at: dt.datetime,
    every_days: int = 14,
) -> Series:
    """Start a recurring 1:1 of ``actor`` with ``member`` (someone they manage),
    its first meeting at ``first_at`` with its agenda pre-filled. Raises
    ``ValidationError`` on ``member`` (outside the actor's team, or a series
    exists) or ``every_days`` (1 to 92)."""
    _check_member(tenant, actor=actor, member=member)
    if not 1 <= every_days <= 92:
        raise ValidationError({"every_days": "Meet every 1 to 92 days."})
    try:
        with transaction.atomic():
            series = Series.objects.create(
                tenant=tenant, manager=actor, member=member, every_days=every_days, next_at=first_at
            )
            meeting = _meeting_create(tenant, series=series, at=first_at)
            audit_record(
                tenant,
                actor=actor.user,
                action="coaching.series_create",
                obj=series,
                data={"member": member.pk, "every_days": every_days},
            )
    except IntegrityError as error:
        raise ValidationError(
            {"member": f"You already have a 1:1 series with {member.display_name}."}
        ) from error
    agenda_refresh(tenant, meeting=meeting, today=tenant_today(tenant))
    return series


def _meeting_create(tenant: Tenant, *, series: Series, at: dt.datetime) -> Meeting:
    return Meeting.objects.create(
        tenant=tenant, series=series, manager=series.manager, member=series.member, scheduled_at=at
    )


def previous_meeting(tenant: Tenant, *, meeting: Meeting) -> Meeting | None:
    """The last held meeting of the series before ``meeting``."""
    return (
        Meeting.objects.filter(
            tenant=tenant,
            series_id=meeting.series_id,
            status=MeetingStatus.HELD,
            scheduled_at__lt=meeting.scheduled_at,
        )
        .order_by("-scheduled_at", "-id")
        .first()
    )


def agenda_refresh(tenant: Tenant, *, meeting: Meeting, today: dt.date) -> list[AgendaItem]:
    """Fill (again) the pre-filled part of a scheduled meeting's agenda from
    ``coaching.agenda.agenda_findings``: found items that no longer apply and
    are not ticked go, new ones come after the items already there; topics
    people added stay. A held or cancelled meeting keeps its agenda."""
    if meeting.status != MeetingStatus.SCHEDULED:
        return list(
            meeting.agenda.filter(tenant=tenant)
            .select_related("meeting", "dispute")
            .order_by("position", "id")
        )
    previous = previous_meeting(tenant, meeting=meeting)
    findings = agenda_findings(
        tenant,
        member=meeting.member,
        settings=settings_of(tenant),
        baseline=previous.baseline if previous else {},
        today=today,
    )
    with transaction.atomic():
        Meeting.objects.select_for_update().filter(tenant=tenant, pk=meeting.pk).get()
        found = AgendaItem.objects.filter(tenant=tenant, meeting=meeting, added_by__isnull=True)
        keep = {f.key for f in findings}
        stale = [item.pk for item in found if _item_key(item) not in keep and not item.is_done]
        AgendaItem.objects.filter(tenant=tenant, pk__in=stale).delete()
        have = {_item_key(item): item for item in found if item.pk not in stale}
        position = _next_position(tenant, meeting)
        new = []
        for finding in findings:
            item = have.get(finding.key)
            if item is not None:
                if (item.title, item.detail) != (finding.title, finding.detail):
                    item.title, item.detail = finding.title, finding.detail
                    item.save(update_fields=["title", "detail"])
                continue
            new.append(
                AgendaItem(
                    tenant=tenant,
                    meeting=meeting,
                    kind=finding.kind,
                    title=finding.title[:300],
                    detail=finding.detail,
                    kpi=finding.kpi,
                    deal_id=finding.deal_id,
                    goal_id=finding.goal_id,
                    objective_id=finding.objective_id,
                    action_id=finding.action_id,
                    dispute_id=finding.dispute_id,
                    position=position,
                )
            )
            position += 1
        AgendaItem.objects.bulk_create(new)
        meeting.agenda_built_at = timezone.now()
        meeting.save(update_fields=["agenda_built_at"])
    return list(
        AgendaItem.objects.filter(tenant=tenant, meeting=meeting)
        .select_related("meeting", "dispute")
        .order_by("position", "id")
    )


def _item_key(item: AgendaItem) -> tuple[str, Any]:
    return (
        item.kind,
        item.kpi
        or item.deal_id
        or item.goal_id
        or item.objective_id
        or item.action_id
        or item.dispute_id,
    )


def _next_position(tenant: Tenant, meeting: Meeting) -> int:
    top = AgendaItem.objects.filter(tenant=tenant, meeting=meeting).aggregate(m=Max("position"))
    return (top["m"] if top["m"] is not None else -1) + 1


def _check_participant(actor: Membership, meeting: Meeting, *, field: str) -> None:
    if actor.pk not in (meeting.manager_id, meeting.member_id):
        raise PermissionDenied("Only the two people of a 1:1 change it.")
    if meeting.status == MeetingStatus.CANCELLED:
        raise ValidationError({field: "This 1:1 was cancelled."})


def agenda_refresh_by(
    tenant: Tenant, *, actor: Membership, meeting: Meeting, today: dt.date
) -> list[AgendaItem]:
    """``agenda_refresh`` asked for by a person: one of the two of the 1:1."""
    _check_participant(actor, meeting, field="agenda")
    return agenda_refresh(tenant, meeting=meeting, today=today)


def agenda_item_add(
    tenant: Tenant, *, actor: Membership, meeting: Meeting, title: str, detail: str = ""
) -> AgendaItem:
    """Add a topic to the shared agenda (either person of the 1:1)."""
    _check_participant(actor, meeting, field="title")
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Say what you want to talk about."})
    with transaction.atomic():
        item = AgendaItem.objects.create(
            tenant=tenant,
            meeting=meeting,
            kind=AgendaKind.TOPIC,
            title=title[:300],
            detail=detail,
            added_by=actor,
            position=_next_position(tenant, meeting),
        )
        audit_record(tenant, actor=actor.user, action="coaching.agenda_add", obj=item)
    return item


def agenda_item_tick(
    tenant: Tenant, *, actor: Membership, item: AgendaItem, is_done: bool
) -> AgendaItem:
    """Mark an agenda item covered (or not)."""
    _check_participant(actor, item.meeting, field="is_done")
    with transaction.atomic():
        item.is_done = is_done
        item.save(update_fields=["is_done"])
        audit_record(
            tenant,
            actor=actor.user,
            action="coaching.agenda_tick",
            obj=item,
            data={"done": is_done},
        )
    return item


def meeting_notes_save(
    tenant: Tenant, *, actor: Membership, meeting: Meeting, shared_notes: str
) -> Meeting:
    """Replace the shared notes (both people of the 1:1 read and write them)."""
    _check_participant(actor, meeting, field="shared_notes")
    with transaction.atomic():
        meeting.shared_notes = shared_notes
        meeting.save(update_fields=["shared_notes"])
        audit_record(tenant, actor=actor.user, action="coaching.notes_save", obj=meeting)
    return meeting


def private_note_add(
    tenant: Tenant, *, actor: Membership, meeting: Meeting, body: str
) -> PrivateNote:
    """A private note of the meeting's manager; the member never sees it."""
    if actor.pk != meeting.manager_id:
        raise PermissionDenied("Only the manager of a 1:1 writes private notes on it.")
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write the note."})
    with transaction.atomic():
        note = PrivateNote.objects.create(tenant=tenant, meeting=meeting, author=actor, body=body)
        audit_record(tenant, actor=actor.user, action="coaching.private_note_add", obj=note)
    return note


def meeting_hold(tenant: Tenant, *, actor: Membership, meeting: Meeting) -> Meeting:
    """Mark the meeting held: its KPI baseline is kept for the next agenda and
    the series' next meeting is scheduled ``every_days`` later, pre-filled.
    Raises ``ValidationError`` on ``status`` when it is not scheduled."""
    if actor.pk != meeting.manager_id:
        raise PermissionDenied("The manager of a 1:1 marks it held.")
    if meeting.status != MeetingStatus.SCHEDULED:
        raise ValidationError({"status": f"This 1:1 is already {meeting.get_status_display()}."})
    today = tenant_today(tenant)
    with transaction.atomic():
        meeting.status = MeetingStatus.HELD
        meeting.held_at = timezone.now()
        meeting.baseline = baseline_of(tenant, member=meeting.member, today=today)
        meeting.save(update_fields=["status", "held_at", "baseline"])
        series = meeting.series
        next_at = meeting.scheduled_at + dt.timedelta(days=series.every_days)
        series.next_at = next_at
        series.save(update_fields=["next_at"])
        upcoming = None
        if (
            series.is_active
            and not Meeting.objects.filter(
                tenant=tenant, series=series, status=MeetingStatus.SCHEDULED
            ).exists()
        ):
            upcoming = _meeting_create(tenant, series=series, at=next_at)
        audit_record(tenant, actor=actor.user, action="coaching.meeting_hold", obj=meeting)
    if upcoming is not None:
        agenda_refresh(tenant, meeting=upcoming, today=today)
    return meeting


def meeting_cancel(tenant: Tenant, *, actor: Membership, meeting: Meeting) -> Meeting:
    """Cancel a scheduled meeting (its manager)."""
    if actor.pk != meeting.manager_id:
        raise PermissionDenied("The manager of a 1:1 cancels it.")
    if meeting.status != MeetingStatus.SCHEDULED:
        raise ValidationError({"status": f"This 1:1 is already {meeting.get_status_display()}."})
    with transaction.atomic():
        meeting.status = MeetingStatus.CANCELLED
        meeting.save(update_fields=["status"])
        audit_record(tenant, actor=actor.user, action="coaching.meeting_cancel", obj=meeting)
    return meeting
