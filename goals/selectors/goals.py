"""Goal reads: visibility by role, the owners a viewer may set goals for, the
alignment tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from goals.models import Goal, GoalLevel
from spm import selectors as core_selectors
from spm.models import Membership, Role, Tenant


def goals_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[Goal]:
    """Admins and finance see every goal. Everyone sees company goals and the
    goals of the teams above them; a manager also sees the goals of the teams
    they manage and of the people in them; everyone sees their own."""
    qs = Goal.objects.filter(tenant=tenant)
    if viewer.role in (Role.ADMIN, Role.FINANCE):
        return qs
    ancestor_ids: set[int] = set()
    if viewer.team is not None:
        ancestor_ids = {int(x) for x in viewer.team.path.strip("/").split("/") if x}
    conditions = [Q(level=GoalLevel.COMPANY), Q(owner_membership=viewer)]
    managed: set[int] = set()
    if viewer.role == Role.MANAGER:
        managed = core_selectors.managed_team_ids(tenant, membership=viewer)
        conditions.append(Q(owner_membership__team_id__in=managed))
    team_ids = ancestor_ids | managed
    if team_ids:
        conditions.append(Q(owner_team_id__in=team_ids))
    return qs.filter(reduce(or_, conditions))


def goals_writable_owner_scope(
    tenant: Tenant, *, viewer: Membership
) -> tuple[set[int] | None, set[int] | None]:
    """(member ids, team ids) ``viewer`` may own goals for; None means all.
    Admins: all, including company goals. Managers: the teams they manage and
    the people in them, and themselves. Reps: themselves."""
    if viewer.role == Role.ADMIN:
        return None, None
    if viewer.role == Role.MANAGER:
        teams = core_selectors.managed_team_ids(tenant, membership=viewer)
        members = set(
            Membership.objects.filter(tenant=tenant, team_id__in=teams).values_list("id", flat=True)
        )
        return members | {viewer.pk}, teams
    if viewer.role == Role.REP:
        return {viewer.pk}, set()
    return set(), set()


@dataclass
class GoalNode:
    goal: Goal
    depth: int
    children: list[GoalNode] = field(default_factory=list)


def goal_tree(tenant: Tenant, *, viewer: Membership) -> list[GoalNode]:
    """The alignment tree of the goals ``viewer`` sees, depth-first: company
    goals first, each followed by the goals that support it. A goal whose
    parent is out of sight starts a tree of its own. Two queries."""
    goals = list(
        goals_visible(tenant, viewer=viewer)
        .select_related("owner_membership__user", "owner_team")
        .order_by("level", "due_date", "id")
    )
    by_id = {g.pk: GoalNode(goal=g, depth=0) for g in goals}
    roots: list[GoalNode] = []
    for g in goals:
        node = by_id[g.pk]
        parent = by_id.get(g.parent_id) if g.parent_id else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    flat: list[GoalNode] = []

    def walk(node: GoalNode, depth: int) -> None:
        node.depth = depth
        flat.append(node)
        for child in node.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return flat
