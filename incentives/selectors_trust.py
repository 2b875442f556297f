"""Reads for acknowledgements, disputes, notifications, approvals and plan
acceptance (one query each)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from incentives.models import (
    Acknowledgement,
    Approval,
    Assignment,
    CalcRun,
    Dispute,
    DisputeStatus,
    Notification,
    PlanAcceptance,
    PlanVersion,
    Statement,
)
from spm.models import Membership, Tenant
from spm.reach import Reach


def with_acknowledgement(tenant: Tenant, statements: QuerySet[Statement]) -> QuerySet[Statement]:
    """``statements`` annotated with their acknowledgement: ``ack_state``,
    ``ack_published_at``, ``ack_closes_at``, ``ack_answered_at`` (all null for
    a preview's statement), in the same query."""
    ack = Acknowledgement.objects.filter(tenant=tenant, statement_id=OuterRef("pk"))
    return statements.annotate(
        ack_state=Subquery(ack.values("state")[:1]),
        ack_published_at=Subquery(ack.values("published_at")[:1]),
        ack_closes_at=Subquery(ack.values("window_closes_at")[:1]),
        ack_answered_at=Subquery(ack.values("answered_at")[:1]),
    )


def disputes_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[Dispute]:
    """Disputes within ``reach`` (``spm.reach.Reach.disputes``): a rep their
    own, a manager their subtree's, admin and finance all."""
    return Dispute.objects.filter(reach.disputes(), tenant=tenant)


def dispute_queue(tenant: Tenant, *, reach: Reach) -> QuerySet[Dispute]:
    """Open disputes in reach, oldest first, with what the queue shows."""
    return (
        disputes_visible(tenant, reach=reach)
        .filter(status=DisputeStatus.OPEN)
        .select_related("membership__user", "statement__period", "line")
        .order_by("created_at", "id")
    )


def dispute_age_days(dispute: Dispute) -> int:
    return (timezone.now() - dispute.created_at).days


def notifications_of(tenant: Tenant, *, membership: Membership) -> QuerySet[Notification]:
    return Notification.objects.filter(tenant=tenant, recipient=membership)


def unread_count(tenant: Tenant, *, membership: Membership) -> int:
    return notifications_of(tenant, membership=membership).filter(read_at__isnull=True).count()


def with_acceptance(
    tenant: Tenant, assignments: QuerySet[Assignment], *, accepted: bool | None = None
) -> QuerySet[Assignment]:
    """``assignments`` annotated with ``accepted_at`` (null: not accepted yet),
    in the same query; ``accepted`` keeps only those accepted (True) or not
    yet (False)."""
    acceptances = PlanAcceptance.objects.filter(tenant=tenant)
    if accepted is not None:
        ids = acceptances.values("assignment_id")
        assignments = (
            assignments.filter(pk__in=ids) if accepted else assignments.exclude(pk__in=ids)
        )
    first = acceptances.filter(assignment_id=OuterRef("pk")).values("accepted_at")[:1]
    return assignments.annotate(accepted_at=Subquery(first))


def assignments_to_accept(
    tenant: Tenant, *, membership: Membership, accepted: bool | None = None
) -> QuerySet[Assignment]:
    """The member's assignments, current and future, with ``accepted_at``
    (the ones they are asked to accept; ``accepted`` as in
    ``with_acceptance``), earliest first."""
    today = timezone.localdate()
    return (
        with_acceptance(
            tenant,
            Assignment.objects.filter(tenant=tenant, membership=membership).exclude(
                end_date__lt=today
            ),
            accepted=accepted,
        )
        .select_related("version__plan")
        .order_by("start_date", "id")
    )


def approvals_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[Approval]:
    """Approval requests within ``reach`` (``spm.reach.Reach.approvals``:
    admins and finance), with what a list shows."""
    return Approval.objects.filter(reach.approvals(), tenant=tenant).select_related(
        "run__period", "version__plan", "requested_by__user", "decided_by__user"
    )


def approval_latest(
    tenant: Tenant, *, run: CalcRun | None = None, version: PlanVersion | None = None
) -> Approval | None:
    """The latest request about ``run`` or ``version`` (None: never asked)."""
    subject = {"run": run} if run is not None else {"version": version}
    return (
        Approval.objects.filter(tenant=tenant, **subject)
        .select_related("requested_by__user", "decided_by__user")
        .order_by("-requested_at", "-id")
        .first()
    )
