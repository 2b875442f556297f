"""Reads for acknowledgements, disputes and notifications (one query each)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from incentives.models import Acknowledgement, Dispute, DisputeStatus, Notification, Statement
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
