"""The reach model per role (spm.reach): members, teams, whom one manages,
assignees. Tenant A: admin and finance have no team; the manager manages
Sales (the root: Sales, West, East) and is in it with the second manager;
rep1 and rep2 are in West; the second manager manages East with rep3."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from spm.models import Membership, Team
from spm.reach import Ids, Reach
from spm.tenancy.context import tenant_context


def _names(condition) -> list[str]:
    rows = Membership.objects.filter(condition).select_related("user")
    return sorted(m.user.email.split("@")[0] for m in rows)


def _teams(condition) -> list[str]:
    return sorted(Team.objects.filter(condition).values_list("name", flat=True))


EVERYONE = ["admin", "finance", "manager", "manager2", "rep1", "rep2", "rep3"]


@pytest.mark.parametrize(
    ("who", "members", "teams"),
    [
        ("admin", EVERYONE, ["East", "Sales", "West"]),
        ("finance", EVERYONE, ["East", "Sales", "West"]),
        ("manager", ["manager", "manager2", "rep1", "rep2", "rep3"], ["East", "Sales", "West"]),
        ("other_manager", ["manager2", "rep3"], ["East"]),
        ("rep1", ["rep1"], []),
    ],
)
def test_members_and_teams_in_reach_per_role(world_a, who, members, teams):
    reach = Reach(getattr(world_a, who))
    with tenant_context(world_a.tenant):
        assert _names(reach.members()) == members
        assert _teams(reach.teams()) == teams


def test_whom_each_role_manages(world_a):
    w = world_a
    with tenant_context(w.tenant):
        assert Reach(w.admin).manage_ids == Ids(None, None)
        assert Reach(w.finance).manage_ids == Ids(frozenset(), frozenset())
        assert Reach(w.rep1).manage_ids == Ids(frozenset(), frozenset())
        assert Reach(w.manager).manage_ids == Ids(
            frozenset({w.rep1.pk, w.rep2.pk, w.other_manager.pk, w.other_rep.pk}),
            frozenset({w.root_team.pk, w.team.pk, w.other_team.pk}),
        )
        assert Reach(w.other_manager).manage_ids == Ids(
            frozenset({w.other_rep.pk}), frozenset({w.other_team.pk})
        )
        # Goals: the people one manages and oneself.
        assert Reach(w.rep1).goal_owner_ids == Ids(frozenset({w.rep1.pk}), frozenset())
        assert Reach(w.other_manager).goal_owner_ids == Ids(
            frozenset({w.other_rep.pk, w.other_manager.pk}), frozenset({w.other_team.pk})
        )


def test_own_records_follow_the_member_field(world_a):
    w = world_a
    with tenant_context(w.tenant):
        # Teams "owned" through their manager: the same rule on another field.
        owned = Team.objects.filter(Reach(w.other_manager).own("manager"))
        assert sorted(owned.values_list("name", flat=True)) == ["East"]
        unowned = Team.objects.filter(Reach(w.other_manager).own("manager", unowned=True))
        assert sorted(unowned.values_list("name", flat=True)) == ["East"]
        assert Team.objects.filter(Reach(w.rep1).own("manager")).count() == 0
        assert Team.objects.filter(Reach(w.finance).own("manager")).count() == 3


def test_a_manager_reaches_their_subtree_with_the_team_ids_looked_up_once(
    world_a, django_assert_num_queries
):
    reach = Reach(world_a.other_manager)
    with tenant_context(world_a.tenant):
        with django_assert_num_queries(2):
            assert reach.managed_team_ids == frozenset({world_a.other_team.pk})
        with django_assert_num_queries(0):
            assert reach.includes(world_a.other_rep) is True
            assert reach.includes(world_a.rep1) is False
            assert reach.teams() is not None


@pytest.mark.parametrize(
    ("who", "owner"),
    [
        ("admin", "other_rep"),
        ("manager", "other_rep"),
        ("other_manager", "other_rep"),
        ("rep1", "rep1"),
    ],
)
def test_a_member_may_give_a_record_to_someone_in_reach(world_a, who, owner):
    with tenant_context(world_a.tenant):
        Reach(getattr(world_a, who)).check_assignee(getattr(world_a, owner), field="owner")


@pytest.mark.parametrize(
    ("who", "owner", "message"),
    [
        ("other_manager", "rep1", "Choose a member of your team."),
        ("rep1", "rep2", "A rep can only assign records to themselves."),
        ("finance", "finance", "Finance has read-only access to deals."),
    ],
)
def test_a_member_may_not_give_a_record_outside_reach(world_a, who, owner, message):
    with tenant_context(world_a.tenant), pytest.raises(ValidationError) as raised:
        Reach(getattr(world_a, who)).check_assignee(getattr(world_a, owner), field="account")
    assert raised.value.message_dict == {"account": [message]}
