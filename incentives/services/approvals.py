"""Approvals: publishing a run's statements and activating a plan version.

Two kinds of request (``Approval.Kind``), each decided by one role:

- ``run_publish``: an admin or finance member asks to publish a preview run;
  a finance member approves or rejects it. ``calc_run_publish`` refuses a run
  until its request is approved.
- ``version_activate``: an admin asks to activate a draft plan version; an
  admin approves (the version becomes active) or rejects it.

Four eyes: the requester may not decide their own request while the tenant
has another active member of the deciding role (a second finance member, a
second admin); a tenant with a single one lets that member decide their own
request, and the approval records it. Each request and decision notifies
(``notify``): the possible deciders when requested, the requester when
decided. A rejection needs a note saying why.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from incentives.document import plan_document_validate
from incentives.models import (
    Approval,
    ApprovalStatus,
    CalcRun,
    NotificationKind,
    PlanVersion,
    VersionStatus,
)
from incentives.services.notifications import notify
from incentives.services.plans import check_active_overlap
from spm.models import Membership, Role, Tenant
from spm.services import audit_record

# Who decides each kind of request (data: the role of the deciding members).
DECIDING_ROLE: dict[str, str] = {
    Approval.Kind.RUN_PUBLISH: Role.FINANCE,
    Approval.Kind.VERSION_ACTIVATE: Role.ADMIN,
}
# Who may ask (data, checked by the service so the API and pages agree).
REQUESTING_ROLES: dict[str, frozenset[str]] = {
    Approval.Kind.RUN_PUBLISH: frozenset({Role.ADMIN, Role.FINANCE}),
    Approval.Kind.VERSION_ACTIVATE: frozenset({Role.ADMIN}),
}
ROLE_WORD: dict[str, str] = {Role.FINANCE: "finance", Role.ADMIN: "admin"}


def approval_subject(approval: Approval) -> str:
    """What the request is about, in words ("Publish the statements of Jan 2027")."""
    if approval.kind == Approval.Kind.RUN_PUBLISH and approval.run is not None:
        return f"Publish the statements of {approval.run.period.label}"
    if approval.version is not None:
        return f"Activate {approval.version}"
    return approval.get_kind_display()


def approval_link(tenant: Tenant, approval: Approval) -> str:
    """The page of the request's subject (the run or the plan version)."""
    if approval.kind == Approval.Kind.RUN_PUBLISH:
        return reverse("incentives:run-detail", args=[tenant.slug, approval.run_id])
    return reverse("incentives:version-detail", args=[tenant.slug, approval.version_id])


def _deciders(tenant: Tenant, kind: str) -> list[Membership]:
    return list(
        Membership.objects.filter(tenant=tenant, role=DECIDING_ROLE[kind], is_active=True)
        .select_related("user")
        .order_by("pk")
    )


def approval_deciders(tenant: Tenant) -> dict[str, list[Membership]]:
    """Kind -> the tenant's active members who decide it (one query), for
    ``approval_may_decide`` over a list of requests."""
    members = list(
        Membership.objects.filter(
            tenant=tenant, role__in=set(DECIDING_ROLE.values()), is_active=True
        ).order_by("pk")
    )
    return {kind: [m for m in members if m.role == role] for kind, role in DECIDING_ROLE.items()}


def approval_may_decide(
    *, approval: Approval, actor: Membership, deciders: list[Membership]
) -> str | None:
    """Why ``actor`` may not decide ``approval`` (None when they may).
    ``deciders`` are the tenant's active members of the deciding role."""
    if approval.status != ApprovalStatus.PENDING:
        return f"This request is already {approval.get_status_display().lower()}."
    role = DECIDING_ROLE[approval.kind]
    if actor.role != role:
        return f"Only {ROLE_WORD[role]} decides this request."
    if approval.requested_by_id == actor.pk and any(m.pk != actor.pk for m in deciders):
        return (
            f"You asked for this: another {ROLE_WORD[role]} member decides it "
            "(the tenant has more than one)."
        )
    return None


def approval_request(
    tenant: Tenant,
    *,
    actor: Membership,
    run: CalcRun | None = None,
    version: PlanVersion | None = None,
    note: str = "",
) -> Approval:
    """Ask for the approval of publishing ``run`` or of activating ``version``
    (exactly one of them).

    Raises ``PermissionDenied`` when ``actor``'s role may not ask, and
    ``ValidationError`` on ``run`` / ``version`` when the subject is not a
    finished preview / a draft, or a request is already pending or approved.
    Notifies the members who may decide."""
    if (run is None) == (version is None):
        raise ValidationError({"run": "Name a run or a plan version, not both."})
    kind = Approval.Kind.RUN_PUBLISH if run is not None else Approval.Kind.VERSION_ACTIVATE
    if actor.role not in REQUESTING_ROLES[kind]:
        raise PermissionDenied(
            "Admins and finance ask to publish runs."
            if run is not None
            else "Admins ask to activate plan versions."
        )
    with transaction.atomic():
        if run is not None:
            run = (
                CalcRun.objects.select_for_update(of=("self",))
                .select_related("period", "task_run")
                .get(tenant=tenant, pk=run.pk)
            )
            field = "run"
            if run.status != CalcRun.Status.PREVIEW:
                raise ValidationError(
                    {field: f"Only a preview is published; this run is {run.status}."}
                )
            if run.task_run is not None and not run.task_run.is_finished:
                raise ValidationError({field: "The run is still computing; ask once it is done."})
            existing = Approval.objects.filter(tenant=tenant, run=run)
        elif version is not None:
            version = (
                PlanVersion.objects.select_for_update(of=("self",))
                .select_related("plan")
                .get(tenant=tenant, pk=version.pk)
            )
            field = "version"
            if version.status != VersionStatus.DRAFT:
                raise ValidationError({field: f"{version} is already active."})
            existing = Approval.objects.filter(tenant=tenant, version=version)
        open_request = existing.filter(
            status__in=[ApprovalStatus.PENDING, ApprovalStatus.APPROVED]
        ).first()
        if open_request is not None:
            raise ValidationError(
                {field: f"A request is already {open_request.get_status_display().lower()}."}
            )
        approval = Approval.objects.create(
            tenant=tenant, kind=kind, run=run, version=version, requested_by=actor, note=note
        )
        subject = approval_subject(approval)
        audit_record(
            tenant,
            actor=actor.user,
            action="approval.request",
            obj=approval,
            data={"kind": kind, "subject": subject},
        )
        deciders = [m for m in _deciders(tenant, kind) if m.pk != actor.pk]
        notify(
            tenant,
            recipients=deciders,
            kind=NotificationKind.APPROVAL_REQUESTED,
            title=f"Approval requested: {subject}",
            body=f"{actor.display_name} asks you to approve it."
            + (f" Note: {note}" if note else ""),
            link=approval_link(tenant, approval),
        )
    return approval


def approval_decide(
    tenant: Tenant, *, approval: Approval, actor: Membership, approve: bool, answer: str = ""
) -> Approval:
    """Approve or reject a pending request.

    Raises ``PermissionDenied`` when ``actor`` may not decide it
    (``approval_may_decide``) and ``ValidationError`` when it is no longer
    pending, when a rejection has no ``answer``, or (on ``version``) when the
    version to activate overlaps an active version of its plan. Approving an
    activation makes the version active; approving a publication lets
    ``calc_run_publish`` publish the run. The requester is notified."""
    answer = answer.strip()
    if not approve and not answer:
        raise ValidationError({"answer": "Say why the request is rejected."})
    with transaction.atomic():
        approval = (
            Approval.objects.select_for_update(of=("self",))
            .select_related("run__period", "version__plan", "requested_by__user")
            .get(tenant=tenant, pk=approval.pk)
        )
        if approval.status != ApprovalStatus.PENDING:
            raise ValidationError(
                {"status": f"This request is already {approval.get_status_display().lower()}."}
            )
        refusal = approval_may_decide(
            approval=approval, actor=actor, deciders=_deciders(tenant, approval.kind)
        )
        if refusal:
            raise PermissionDenied(refusal)
        if approve and approval.version is not None:
            version = PlanVersion.objects.select_for_update().get(
                tenant=tenant, pk=approval.version_id
            )
            check_active_overlap(
                tenant,
                plan=version.plan,
                document=plan_document_validate(version.document),
                exclude=version,
                field="version",
            )
            version.status = VersionStatus.ACTIVE
            version.save(update_fields=["status"])
        approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        approval.decided_by = actor
        approval.decided_at = timezone.now()
        approval.answer = answer
        approval.save(update_fields=["status", "decided_by", "decided_at", "answer"])
        subject = approval_subject(approval)
        word = "approved" if approve else "rejected"
        audit_record(
            tenant,
            actor=actor.user,
            action=f"approval.{'approve' if approve else 'reject'}",
            obj=approval,
            data={"kind": approval.kind, "subject": subject},
        )
        if approval.requested_by is not None and approval.requested_by_id != actor.pk:
            notify(
                tenant,
                recipients=[approval.requested_by],
                kind=NotificationKind.APPROVAL_DECIDED,
                title=f"{subject}: {word} by {actor.display_name}",
                body=answer,
                link=approval_link(tenant, approval),
            )
    return approval
