"""Reads of the core that span models or roles."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from spm.models import AuditEvent, FiscalPeriod, Membership, Team, Tenant, User
from spm.tenancy.context import set_db_user


def team_subtree(tenant: Tenant, *, team: Team) -> QuerySet[Team]:
    """The team and every team below it, in one indexed prefix query."""
    return Team.objects.filter(tenant=tenant, path__startswith=team.path)


def manager_chain(tenant: Tenant, *, membership: Membership) -> list[Membership]:
    """The managers above ``membership``, nearest first (one query)."""
    team = membership.team
    if team is None:
        return []
    ids = [int(part) for part in team.path.strip("/").split("/") if part]
    teams = (
        Team.objects.filter(tenant=tenant, id__in=ids, manager__isnull=False)
        .select_related("manager__user")
        .order_by("-depth")
    )
    chain: list[Membership] = []
    for t in teams:
        if t.manager is not None and t.manager.pk != membership.pk and t.manager not in chain:
            chain.append(t.manager)
    return chain


def direct_reports(tenant: Tenant, *, membership: Membership) -> QuerySet[Membership]:
    """Members of the teams ``membership`` manages directly (not the whole subtree)."""
    return (
        Membership.objects.filter(tenant=tenant, team__manager=membership, is_active=True)
        .exclude(pk=membership.pk)
        .select_related("user", "team")
    )


def user_memberships(user: User) -> list[Membership]:
    """Every active membership of ``user`` across tenants, for the tenant switcher.

    RLS shows a user's own membership rows in every tenant once ``app.user_id``
    is set, so this is the one cross-tenant read, and it only reads the user's
    own rows. Must run inside a transaction.
    """
    set_db_user(user.pk)
    return list(
        Membership.unscoped()
        .filter(user=user, is_active=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )


def period_containing(tenant: Tenant, *, day: dt.date, kind: str = "month") -> FiscalPeriod | None:
    """The tenant's period of ``kind`` that contains ``day``, or None if not generated."""
    return FiscalPeriod.objects.filter(
        tenant=tenant, kind=kind, start__lte=day, end__gte=day
    ).first()


def periods_in_year(
    tenant: Tenant, *, fiscal_year: int, kind: str | None = None
) -> QuerySet[FiscalPeriod]:
    qs = FiscalPeriod.objects.filter(tenant=tenant, fiscal_year=fiscal_year)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("start", "kind")


def audit_events_for(tenant: Tenant, *, obj: object, limit: int = 20) -> QuerySet[AuditEvent]:
    """The latest audit events about ``obj``, newest first."""
    return AuditEvent.objects.filter(
        tenant=tenant,
        object_type=obj._meta.label_lower,  # type: ignore[attr-defined]
        object_id=str(obj.pk),  # type: ignore[attr-defined]
    ).select_related("actor")[:limit]
