"""Goal reads: visibility by role, the owners a viewer may set goals for, the
alignment tree."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from goals.models import Goal
from spm.models import Membership, Tenant
from spm.reach import Reach


def goals_visible(tenant: Tenant, *, viewer: Membership) -> QuerySet[Goal]:
    """Admins and finance see every goal. Everyone sees company goals and the
    goals of the teams above them; a manager also sees the goals of the teams
    they manage and of the people in them; everyone sees their own."""
    return Goal.objects.filter(Reach(viewer).goals(), tenant=tenant)


def goals_writable_owner_scope(
    tenant: Tenant, *, viewer: Membership
) -> tuple[frozenset[int] | None, frozenset[int] | None]:
    """(member ids, team ids) ``viewer`` may own goals for; None means all
    (``spm.reach.Reach.goal_owner_ids``). Admins: all, including company
    goals. Managers: the teams they manage and the people in them, and
    themselves. Reps: themselves."""
    ids = Reach(viewer).goal_owner_ids
    return ids.members, ids.teams


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
