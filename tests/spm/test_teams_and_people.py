import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from spm import selectors, services
from spm.models import AuditEvent, Membership, Role, Team
from spm.reach import Reach
from spm.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def test_subtree_and_manager_chain(world_a):
    t = world_a.tenant
    with tenant_context(t):
        sub = services.team_create(t, name="West SMB", parent=world_a.team)
        rep = services.membership_add(t, email="smb@alpha.test", role=Role.REP, team=sub)
        assert sorted(
            selectors.team_subtree(t, team=world_a.team).values_list("name", flat=True)
        ) == ["West", "West SMB"]
        assert sub.path == f"/{world_a.root_team.pk}/{world_a.team.pk}/{sub.pk}/"
        assert sub.depth == 2
        assert selectors.manager_chain(t, membership=rep) == [world_a.manager]
        # The West manager sees West and below, not East.
        visible = Membership.objects.filter(Reach(world_a.other_manager).members())
        assert sorted(m.user.email for m in visible) == ["manager2@alpha.test", "rep3@alpha.test"]


def test_moving_a_team_rewrites_the_whole_subtree(world_a):
    t = world_a.tenant
    with tenant_context(t):
        sub = services.team_create(t, name="West SMB", parent=world_a.team)
        services.team_update(t, team=world_a.team, actor=None, parent=world_a.other_team)
        sub.refresh_from_db()
        west = Team.objects.get(pk=world_a.team.pk)
        root, east = world_a.root_team.pk, world_a.other_team.pk
        assert west.path == f"/{root}/{east}/{west.pk}/"
        assert (sub.path, sub.depth) == (f"/{root}/{east}/{west.pk}/{sub.pk}/", 3)
        # The East manager now sees West's reps too.
        visible = Membership.objects.filter(Reach(world_a.other_manager).members())
        assert sorted(m.user.email for m in visible) == [
            "manager2@alpha.test",
            "rep1@alpha.test",
            "rep2@alpha.test",
            "rep3@alpha.test",
        ]


def test_a_team_cannot_move_under_its_own_subtree(world_a):
    t = world_a.tenant
    with tenant_context(t):
        with pytest.raises(ValidationError) as exc:
            services.team_update(t, team=world_a.root_team, actor=None, parent=world_a.team)
        assert exc.value.message_dict == {
            "parent": ["A team cannot move under itself or its own sub-team."]
        }


def test_team_with_members_cannot_be_deleted(world_a):
    with tenant_context(world_a.tenant):
        with pytest.raises(ValidationError, match="Move its members to another team first."):
            services.team_delete(world_a.tenant, team=world_a.team, actor=None)
        assert Team.objects.filter(pk=world_a.team.pk).exists()


def test_adding_an_existing_member_is_refused_by_email(world_a):
    with tenant_context(world_a.tenant), pytest.raises(ValidationError) as exc:
        services.membership_add(world_a.tenant, email="REP1@alpha.test")
    assert exc.value.message_dict == {
        "email": ["rep1@alpha.test is already a member of Alpha Inc."]
    }


def test_invite_sends_a_password_link_after_commit(world_a, django_capture_on_commit_callbacks):
    with tenant_context(world_a.tenant), django_capture_on_commit_callbacks(execute=True):
        member = services.membership_add(
            world_a.tenant,
            email="new@alpha.test",
            first_name="Nia",
            role=Role.REP,
            send_invite=True,
            actor=world_a.admin.user,
        )
    assert not member.user.has_usable_password()
    assert [m.to for m in mail.outbox] == [["new@alpha.test"]]
    assert mail.outbox[0].subject == "You have been invited to SPM"
    assert "/accounts/reset/" in mail.outbox[0].body


def test_the_last_admin_cannot_be_demoted_and_changes_are_audited(world_a):
    t = world_a.tenant
    with tenant_context(t):
        with pytest.raises(ValidationError, match="A tenant needs at least one active admin."):
            services.membership_update(
                t, membership=world_a.admin, actor=world_a.admin.user, role=Role.REP
            )
        services.membership_update(
            t, membership=world_a.rep1, actor=world_a.admin.user, title="Senior AE"
        )
        event = AuditEvent.objects.get(action="membership.update")
        assert (event.actor, event.object_id, event.data) == (
            world_a.admin.user,
            str(world_a.rep1.pk),
            {"title": ["", "Senior AE"]},
        )
        assert Membership.objects.get(pk=world_a.admin.pk).role == Role.ADMIN
