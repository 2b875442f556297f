"""Who sees what: the one reach model (docs/architecture.md, "Reach").

``Reach(membership)`` answers for one member of one tenant which rows they may
read and which they may change, as ``Q`` conditions to filter that tenant's
querysets with, and what their role lets them do. Every selector, viewset,
page and service asks it; no other module compares roles (views only declare
theirs in ``allowed_roles`` / ``read_roles`` / ``write_roles``).

The rules (DESIGN of the roles in README.md, "Using SPM"):

- admin and finance read everything of the tenant; admins change it, finance
  changes nothing;
- a manager reaches the teams in the subtrees of the teams they manage, the
  members of those teams, and themselves; they manage (set targets, approve)
  the members of those teams other than themselves;
- a rep reaches themselves.

Records a member "owns" through a membership foreign key (deals, leads,
activities, objectives, statements) follow ``own(field)``; a pillar whose rule
differs adds it here, beside the others (coaching: ``coaching()``,
``private_notes()``).

Conditions are plain ``Q`` objects that combine safely with ``&`` and ``|``
(every row is ``ALL``, no row ``NOTHING``). A ``Reach`` computes the managed
teams once (two queries, managers only) and keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, reduce
from operator import or_
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import Q

from spm.models import Membership, Team
from spm.permissions import ADMIN, FINANCE, MANAGERS, READ_ALL, SELLERS
from spm.roles import Role

if TYPE_CHECKING:
    from collections.abc import Iterable

ALL = Q(pk__isnull=False)
NOTHING = Q(pk__in=[])


def _path(field: str, name: str) -> str:
    return f"{field}__{name}" if field else name


def _id(field: str) -> str:
    return f"{field}_id" if field else "pk"


@dataclass(frozen=True)
class Ids:
    """Member and team ids a rule covers; ``None`` stands for every one of the tenant."""

    members: frozenset[int] | None
    teams: frozenset[int] | None

    def has_member(self, pk: int | None) -> bool:
        return self.members is None or pk in self.members

    def has_team(self, pk: int | None) -> bool:
        return self.teams is None or pk in self.teams

    @property
    def any(self) -> bool:
        return self.members is None or self.teams is None or bool(self.members or self.teams)


class Reach:
    """What ``membership`` may see and change in its tenant (see the module docstring).

    Build it inside the tenant's context (pages and API have it as
    ``self.reach`` and ``request.reach``).
    """

    def __init__(self, membership: Membership) -> None:
        self.membership = membership
        self.pk = membership.pk
        self.tenant_id = membership.tenant_id

    def __repr__(self) -> str:
        return f"Reach({self.membership.role} {self.pk})"

    # What the role lets the member do ------------------------------------------------

    def allowed(self, roles: Iterable[str]) -> bool:
        """Whether the member's role is one of ``roles`` (a view's declared roles)."""
        return self.membership.role in roles

    @property
    def is_admin(self) -> bool:
        """Tenant settings, people, pipelines, rates, bulk sync, period close."""
        return self.allowed(ADMIN)

    @property
    def reads_all(self) -> bool:
        """Admins and finance read every figure and record of the tenant."""
        return self.allowed(READ_ALL)

    @property
    def is_manager(self) -> bool:
        return self.membership.role == Role.MANAGER

    @property
    def sells(self) -> bool:
        """Writes pipeline records (accounts, leads, deals, activities) in reach;
        finance only reads them."""
        return self.allowed(SELLERS)

    @property
    def sets_targets(self) -> bool:
        """Admins and managers set quotas, objectives and seasonality profiles."""
        return self.allowed(MANAGERS)

    # People and teams ----------------------------------------------------------------

    @cached_property
    def managed_team_ids(self) -> frozenset[int]:
        """Ids of every team in the subtrees of the teams a manager manages
        (empty for the other roles). Two queries, the first time only."""
        if not self.is_manager:
            return frozenset()
        paths = list(
            Team.objects.filter(tenant_id=self.tenant_id, manager_id=self.pk).values_list(
                "path", flat=True
            )
        )
        if not paths:
            return frozenset()
        subtree = reduce(or_, (Q(path__startswith=p) for p in paths))
        return frozenset(
            Team.objects.filter(subtree, tenant_id=self.tenant_id).values_list("id", flat=True)
        )

    def members(self, field: str = "") -> Q:
        """Members in reach: everyone for admin and finance, a manager's subtree
        and themselves, a rep themselves. With ``field`` (the path of a
        membership foreign key, "owner"), the condition is on that member."""
        if self.reads_all:
            return ALL
        own = Q(**{_id(field): self.pk})
        if self.is_manager:
            return Q(**{_path(field, "team_id__in"): self.managed_team_ids}) | own
        return own

    def teams(self, field: str = "") -> Q:
        """Teams whose figures are in reach (dashboards, team quotas and goals):
        every team for admin and finance, a manager's subtrees, none for a rep.
        (The tree itself, names and managers, is read by everyone.)"""
        if self.reads_all:
            return ALL
        if self.is_manager:
            return Q(**{f"{_id(field)}__in": self.managed_team_ids})
        return NOTHING

    def includes(self, member: Membership | None) -> bool:
        """``members()`` for one loaded membership, without a query."""
        if member is None:
            return False
        if self.reads_all or member.pk == self.pk:
            return True
        return self.is_manager and member.team_id in self.managed_team_ids

    @cached_property
    def read_ids(self) -> Ids:
        """``members()`` and ``teams()`` as ids (one query for a manager)."""
        if self.reads_all:
            return Ids(None, None)
        if self.is_manager:
            return Ids(self._subtree_member_ids | {self.pk}, self.managed_team_ids)
        return Ids(frozenset({self.pk}), frozenset())

    @cached_property
    def manage_ids(self) -> Ids:
        """Whom the member manages: admins every member and team; a manager the
        teams of their subtrees and the people in them, not themselves; nobody else."""
        if self.is_admin:
            return Ids(None, None)
        if self.is_manager:
            return Ids(self._subtree_member_ids - {self.pk}, self.managed_team_ids)
        return Ids(frozenset(), frozenset())

    @cached_property
    def _subtree_member_ids(self) -> frozenset[int]:
        return frozenset(
            Membership.objects.filter(
                tenant_id=self.tenant_id, team_id__in=self.managed_team_ids
            ).values_list("id", flat=True)
        )

    def may_see_member(self, pk: int) -> bool:
        return self.read_ids.has_member(pk)

    def may_see_team(self, pk: int) -> bool:
        return self.read_ids.has_team(pk)

    # Records owned by a member ------------------------------------------------------

    def own(self, field: str, *, unowned: bool = False) -> Q:
        """Records whose ``field`` (a membership foreign key path) is a member in
        reach. With ``unowned``, a manager also reaches records nobody owns yet
        (unassigned leads and accounts)."""
        condition = self.members(field)
        if unowned and self.is_manager:
            condition |= Q(**{f"{field}__isnull": True})
        return condition

    def statements(self) -> Q:
        """Commission statements (``membership`` is whose they are): a rep
        their own, a manager their subtree's and their own, admin and finance
        all."""
        return self.own("membership")

    @property
    def settles_pay(self) -> bool:
        """Finance approves publishing statements, resolves or rejects
        disputes and exports payroll."""
        return self.allowed(FINANCE)

    def disputes(self) -> Q:
        """Disputes of statements (``membership`` is whose statement): as
        ``statements()``: a rep their own, a manager their subtree's (their
        queue), admin and finance all."""
        return self.own("membership")

    def approvals(self) -> Q:
        """Requests to publish runs and activate plan versions: admins and
        finance see them all (they ask and decide); nobody else any."""
        return ALL if self.reads_all else NOTHING

    def plan_acceptances(self, field: str = "membership") -> Q:
        """Acceptances of assigned plans (``field`` is whose): as statements, a
        rep their own, a manager their subtree's, admin and finance all."""
        return self.own(field)

    def default_owner(self) -> Membership | None:
        """Who a record this member creates belongs to when they name nobody:
        a rep's own records are theirs."""
        return self.membership if self.membership.role == Role.REP else None

    def check_assignee(self, owner: Membership, *, field: str = "owner") -> None:
        """Refuse to give a record to ``owner`` outside what the member may assign:
        admins give records to anyone, managers to their subtree and themselves,
        reps to themselves; finance writes none. Raises ``ValidationError``
        naming ``field``."""
        if self.is_admin:
            return
        if not self.sells:
            raise ValidationError({field: "Finance has read-only access to deals."})
        if not self.includes_id(owner.pk):
            if self.is_manager:
                raise ValidationError({field: "Choose a member of your team."})
            raise ValidationError({field: "A rep can only assign records to themselves."})

    def includes_id(self, pk: int) -> bool:
        """``members()`` for one member id (one query for a manager, none otherwise)."""
        if self.reads_all or pk == self.pk:
            return True
        if not self.is_manager:
            return False
        return Membership.objects.filter(
            tenant_id=self.tenant_id, pk=pk, team_id__in=self.managed_team_ids
        ).exists()

    # Pipeline ------------------------------------------------------------------------

    def deals(self, *, write: bool = False) -> Q:
        """Deals in reach. Read: those owned by a member in reach, and those on
        which a member in reach holds split credit (their bookings count it).
        Write: those owned by a member in reach (never finance)."""
        owned = self.own("owner")
        if write:
            return owned if self.sells else NOTHING
        if self.reads_all:
            return ALL
        credited = Membership.objects.filter(self.members(), tenant_id=self.tenant_id).values(
            "deal_splits__deal_id"
        )
        return owned | Q(pk__in=credited)

    def may_write_deal(self, deal: Any) -> bool:
        """``deals(write=True)`` for one deal with its owner loaded, without a query."""
        return self.sells and self.includes(deal.owner)

    def accounts(self, *, write: bool = False) -> Q:
        """Accounts over the API: the tenant's shared customer list, read by
        everyone; a rep changes only the accounts they own."""
        if write and self.membership.role == Role.REP:
            return Q(owner_id=self.pk)
        return ALL

    def may_write_account(self, account: Any) -> bool:
        return self.membership.role != Role.REP or account.owner_id == self.pk

    # Goals, quotas, objectives -------------------------------------------------------

    def goals(self) -> Q:
        """Admins and finance read every goal. Everyone reads company goals (no
        owner), the goals of the teams above them, and their own; a manager
        also the goals of the teams they manage and of the people in them."""
        if self.reads_all:
            return ALL
        condition = Q(owner_membership__isnull=True, owner_team__isnull=True) | Q(
            owner_membership_id=self.pk
        )
        if self.is_manager:
            condition |= Q(owner_membership__team_id__in=self.managed_team_ids)
        team = self.membership.team
        above = {int(x) for x in team.path.strip("/").split("/") if x} if team else set()
        team_ids = above | self.managed_team_ids
        if team_ids:
            condition |= Q(owner_team_id__in=team_ids)
        return condition

    @cached_property
    def goal_owner_ids(self) -> Ids:
        """Whom the member may set goals for: admins anyone (and the company);
        managers the teams and people they manage, and themselves; reps themselves."""
        ids = self.manage_ids
        if ids.members is None or not self.sells:
            return ids
        return Ids(ids.members | {self.pk}, ids.teams)

    def quotas(self) -> Q:
        """Quotas of the members and teams in reach."""
        return self.members("membership") | self.teams("team")

    # Coaching ------------------------------------------------------------------------

    def coaching(self, field: str = "member", *, manager: str = "") -> Q:
        """Coaching records (1:1s, action items, assessments, development plans,
        training, practice, reviews) of the member at ``field``: a rep and
        finance their own, a manager their subtree's and their own, admins all.
        With ``manager`` (the path of the record's manager), the manager named
        on the record reaches it too. Coaching is not a figure: finance does
        not read everyone's."""
        if self.is_admin:
            return ALL
        own = Q(**{_id(field): self.pk})
        if manager:
            own |= Q(**{_id(manager): self.pk})
        if self.is_manager:
            return Q(**{_path(field, "team_id__in"): self.managed_team_ids}) | own
        return own

    def private_notes(self, *, author: str = "author", member: str = "meeting__member") -> Q:
        """A manager's private notes on a 1:1: their author, and those whose
        reach holds the author (the managers above, admins); never the member
        the meeting is with."""
        own = Q(**{_id(author): self.pk})
        if self.is_admin:
            return ALL & ~Q(**{_id(member): self.pk})
        if self.is_manager:
            above = Q(**{_path(author, "team_id__in"): self.managed_team_ids})
            return own | (above & ~Q(**{_id(member): self.pk}))
        return own & ~Q(**{_id(member): self.pk})

    def may_coach(self, member: Membership) -> bool:
        """Whether the member may hold 1:1s with, assess and review ``member``:
        admins anyone, a manager the people they manage; nobody themselves."""
        if member.pk == self.pk:
            return False
        return self.manage_ids.has_member(member.pk)

    # Jobs ----------------------------------------------------------------------------

    def task_runs(self) -> Q:
        """Progress of long jobs: everyone but reps follows every run; a rep the
        runs they started."""
        if self.membership.role != Role.REP:
            return ALL
        return Q(created_by_id=self.pk)

    def exports(self) -> Q:
        """Background exports: only the member who asked for one sees it (its
        file holds what their reach showed them)."""
        return Q(requested_by_id=self.pk)

    # Snapshots keyed by subject ------------------------------------------------------

    def subjects(
        self,
        *,
        member: str,
        team: str,
        kind_field: str = "subject_kind",
        id_field: str = "subject_id",
    ) -> Q:
        """Snapshot rows keyed by (subject kind, subject id) in reach: every row
        for admin and finance (the tenant's own rows too), a manager's members
        and teams, a rep's own member rows. ``member`` and ``team`` are the kind
        values of the snapshot table."""
        if self.reads_all:
            return ALL
        ids = self.read_ids
        condition = Q(**{kind_field: member, f"{id_field}__in": ids.members})
        if ids.teams:
            condition |= Q(**{kind_field: team, f"{id_field}__in": ids.teams})
        return condition
