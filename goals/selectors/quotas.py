"""Quota reads: who may see and set which quotas, effective quotas, allocation
targets and history."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from goals.engine import prorate
from goals.models import Quota
from spm.models import FiscalPeriod, Membership, Role, Team, Tenant
from spm.reach import Reach

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class QuotaScope:
    """Whose quotas a member may read and write. ``None`` means every one."""

    read_members: frozenset[int] | None
    read_teams: frozenset[int] | None
    write_members: frozenset[int] | None
    write_teams: frozenset[int] | None

    def can_read(self, *, membership_id: int | None, team_id: int | None) -> bool:
        if membership_id is not None:
            return self.read_members is None or membership_id in self.read_members
        return self.read_teams is None or team_id in self.read_teams

    def can_write(self, *, membership_id: int | None, team_id: int | None) -> bool:
        if membership_id is not None:
            return self.write_members is None or membership_id in self.write_members
        return self.write_teams is None or team_id in self.write_teams

    @property
    def can_write_any(self) -> bool:
        return self.write_members is None or bool(self.write_members) or bool(self.write_teams)


def quota_subject(tenant: Tenant, *, viewer: Membership, key: str) -> Membership | Team | None:
    """The member (``m<id>``) or team (``t<id>``) a quota grid row is keyed by,
    when ``viewer`` may read its quotas; None otherwise (one or two queries)."""
    kind, number = key[:1], key[1:]
    if kind not in ("m", "t") or not number.isdigit():
        return None
    scope = quota_scope(tenant, viewer=viewer)
    if kind == "m":
        member = (
            Membership.objects.filter(tenant=tenant, pk=int(number)).select_related("user").first()
        )
        readable = member is not None and scope.can_read(membership_id=member.pk, team_id=None)
        return member if readable else None
    team = Team.objects.filter(tenant=tenant, pk=int(number)).first()
    readable = team is not None and scope.can_read(membership_id=None, team_id=team.pk)
    return team if readable else None


def quota_scope(tenant: Tenant, *, viewer: Membership) -> QuotaScope:
    """Admins read and write every quota; finance reads every quota; a manager
    reads their subtree's and their own, and writes the quotas of the teams
    they manage and of the people in them (not their own); a rep reads their
    own (``spm.reach.Reach.read_ids`` and ``manage_ids``)."""
    reach = Reach(viewer)
    read, write = reach.read_ids, reach.manage_ids
    return QuotaScope(read.members, read.teams, write.members, write.teams)


def quotas_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[Quota]:
    """The quotas ``viewer`` may read (see ``quota_scope``)."""
    return Quota.objects.filter(Reach(viewer).quotas(), tenant=tenant)


def effective_member_quota(quota: Quota) -> Decimal:
    """A member quota prorated to the member's active days in its period."""
    m, p = quota.membership, quota.period
    if m is None:
        raise ValueError("effective_member_quota() needs a member quota.")
    return prorate(
        quota.amount,
        period_start=p.start,
        period_end=p.end,
        member_start=m.start_date,
        member_end=m.end_date,
    )


def allocation_targets(
    tenant: Tenant, *, team: Team, period: FiscalPeriod
) -> list[Membership | Team]:
    """Who a team's quota is allocated to: its reps active in the period, in the
    team's order (last name); a team without reps of its own allocates to its
    sub-teams (by name)."""
    reps = list(
        Membership.objects.filter(
            tenant=tenant, team=team, role=Role.REP, start_date__lte=period.end
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=period.start))
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "id")
    )
    if reps:
        return list(reps)
    return list(Team.objects.filter(tenant=tenant, parent=team).order_by("name"))


def rep_ids_by_subtree(tenant: Tenant, *, teams: list[Team]) -> dict[int, list[int]]:
    """Team id -> ids of the reps anywhere in that team's subtree (one query)."""
    if not teams:
        return {}
    condition = reduce(or_, (Q(team__path__startswith=t.path) for t in teams))
    rows = list(
        Membership.objects.filter(condition, tenant=tenant, role=Role.REP).values_list(
            "id", "team__path"
        )
    )
    return {t.pk: [pk for pk, path in rows if path.startswith(t.path)] for t in teams}


def previous_period(tenant: Tenant, *, period: FiscalPeriod) -> FiscalPeriod | None:
    """The period of the same kind just before ``period``."""
    return (
        FiscalPeriod.objects.filter(tenant=tenant, kind=period.kind, end__lt=period.start)
        .order_by("-start")
        .first()
    )


def quota_history(tenant: Tenant, *, quota: Quota) -> QuerySet:
    return quota.changes.filter(tenant=tenant).select_related("changed_by")
