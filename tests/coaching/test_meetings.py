"""1:1 series, meetings, private notes and action items: rules, reach, API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from coaching import services
from coaching.models import ActionItem, Meeting, MeetingStatus, PrivateNote, Series
from spm.tenancy.context import tenant_context
from tests.coaching.factories import at
from tests.conftest import api_client_for, client_for

FIRST = at(dt.date(2027, 2, 20))


def _series(world, manager=None, member=None):
    return services.series_create(
        world.tenant,
        actor=manager or world.manager,
        member=member or world.rep1,
        first_at=FIRST,
        every_days=14,
    )


def test_a_manager_cannot_start_a_1on1_with_someone_outside_their_subtree(world_a, in_tenant_a):
    with pytest.raises(ValidationError) as refused:
        services.series_create(
            world_a.tenant, actor=world_a.other_manager, member=world_a.rep1, first_at=FIRST
        )
    assert refused.value.message_dict == {
        "member": ["Ray One is not in your team: choose someone you manage."]
    }
    assert Series.objects.count() == 0
    assert Meeting.objects.count() == 0


def test_a_second_series_with_the_same_person_is_refused_on_member(world_a, in_tenant_a):
    _series(world_a)
    with pytest.raises(ValidationError) as refused:
        _series(world_a)
    assert refused.value.message_dict == {"member": ["You already have a 1:1 series with Ray One."]}
    assert Series.objects.count() == 1


def test_holding_keeps_the_baseline_and_schedules_the_next_meeting(world_a, in_tenant_a):
    series = _series(world_a)
    first = Meeting.objects.get(series=series)
    services.meeting_hold(world_a.tenant, actor=world_a.manager, meeting=first)
    meetings = list(Meeting.objects.filter(series=series).order_by("scheduled_at"))
    assert [(m.scheduled_at, m.status) for m in meetings] == [
        (FIRST, MeetingStatus.HELD),
        (FIRST + dt.timedelta(days=14), MeetingStatus.SCHEDULED),
    ]
    with pytest.raises(ValidationError) as again:
        services.meeting_hold(world_a.tenant, actor=world_a.manager, meeting=meetings[0])
    assert again.value.message_dict == {"status": ["This 1:1 is already Held."]}


def test_private_notes_reach_their_author_and_the_managers_above_never_the_member(world_a):
    with tenant_context(world_a.tenant):
        series = _series(world_a, manager=world_a.other_manager, member=world_a.other_rep)
        meeting = Meeting.objects.get(series=series)
        note = services.private_note_add(
            world_a.tenant, actor=world_a.other_manager, meeting=meeting, body="Coach on pricing"
        )
    url = f"/api/v1/{world_a.tenant.slug}/coaching/private-notes/"
    seen = {}
    for who in ("other_manager", "manager", "admin", "other_rep", "rep1", "finance"):
        body = api_client_for(getattr(world_a, who).user).get(url).json()
        seen[who] = [row["id"] for row in body["results"]]
    assert seen == {
        "other_manager": [note.pk],
        "manager": [note.pk],
        "admin": [note.pk],
        "other_rep": [],
        "rep1": [],
        "finance": [],
    }


def test_the_member_of_the_meeting_cannot_read_or_write_private_notes(world_a, world_b):
    with tenant_context(world_a.tenant):
        series = _series(world_a)
        meeting = Meeting.objects.get(series=series)
        note = services.private_note_add(
            world_a.tenant, actor=world_a.manager, meeting=meeting, body="Not for Ray"
        )
    rep = api_client_for(world_a.rep1.user)
    url = f"/api/v1/{world_a.tenant.slug}/coaching/private-notes/"
    assert rep.get(f"{url}{note.pk}/").status_code == 404
    refused = rep.post(url, {"meeting": meeting.pk, "body": "mine"}, format="json")
    assert refused.status_code == 403
    page = client_for(world_a.rep1.user).get(
        f"/{world_a.tenant.slug}/coaching/meetings/{meeting.pk}/"
    )
    assert page.status_code == 200
    assert "Not for Ray" not in page.content.decode()
    assert 'data-testid="private-notes"' not in page.content.decode()
    with tenant_context(world_a.tenant):
        assert list(PrivateNote.objects.values_list("body", flat=True)) == ["Not for Ray"]


def test_api_series_outside_the_team_is_a_problem_naming_member(world_a, world_b):
    client = api_client_for(world_a.other_manager.user)
    response = client.post(
        f"/api/v1/{world_a.tenant.slug}/coaching/series/",
        {"member": world_a.rep1.pk, "first_at": "2027-02-20T10:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["member"]
    other_tenant = client.post(
        f"/api/v1/{world_a.tenant.slug}/coaching/series/",
        {"member": world_b.rep1.pk, "first_at": "2027-02-20T10:00:00Z"},
        format="json",
    )
    assert other_tenant.status_code == 400
    assert [e["field"] for e in other_tenant.json()["errors"]] == ["member"]
    with tenant_context(world_a.tenant):
        assert Series.objects.count() == 0


def test_meetings_by_role_include_nothing_of_the_other_tenant(world_a, world_b):
    ids = {}
    for world in (world_a, world_b):
        with tenant_context(world.tenant):
            mine = _series(world)
            theirs = _series(world, manager=world.other_manager, member=world.other_rep)
            ids[world.tenant.slug] = (
                Meeting.objects.get(series=mine).pk,
                Meeting.objects.get(series=theirs).pk,
            )
    mine, theirs = ids["alpha"]
    url = f"/api/v1/{world_a.tenant.slug}/coaching/meetings/"
    seen = {
        who: sorted(
            r["id"] for r in api_client_for(getattr(world_a, who).user).get(url).json()["results"]
        )
        for who in ("admin", "manager", "other_manager", "rep1", "rep2", "other_rep", "finance")
    }
    assert seen == {
        "admin": sorted([mine, theirs]),
        "manager": sorted([mine, theirs]),
        "other_manager": [theirs],
        "rep1": [mine],
        "rep2": [],
        "other_rep": [theirs],
        "finance": [],
    }
    b_mine, _ = ids["beta"]
    assert api_client_for(world_a.admin.user).get(f"{url}{b_mine}/").status_code == 404


def test_both_people_add_topics_and_the_rep_sees_the_action_item(world_a, in_tenant_a):
    series = _series(world_a)
    meeting = Meeting.objects.get(series=series)
    services.agenda_item_add(
        world_a.tenant, actor=world_a.manager, meeting=meeting, title="Pricing"
    )
    services.agenda_item_add(world_a.tenant, actor=world_a.rep1, meeting=meeting, title="Holidays")
    action = services.action_create(
        world_a.tenant,
        actor=world_a.manager,
        member=world_a.rep1,
        meeting=meeting,
        title="Call Globex",
        due_on=dt.date(2027, 2, 25),
    )
    response = api_client_for(world_a.rep1.user).get(
        f"/api/v1/{world_a.tenant.slug}/coaching/agenda-items/", {"meeting": meeting.pk}
    )
    assert [(r["title"], r["added_by"]) for r in response.json()["results"]] == [
        ("Pricing", world_a.manager.pk),
        ("Holidays", world_a.rep1.pk),
    ]
    actions = (
        api_client_for(world_a.rep1.user)
        .get(f"/api/v1/{world_a.tenant.slug}/coaching/action-items/")
        .json()["results"]
    )
    assert [(a["id"], a["title"], a["due_on"], a["status"]) for a in actions] == [
        (action.pk, "Call Globex", "2027-02-25", "open")
    ]
    with pytest.raises(PermissionDenied) as denied:
        services.agenda_item_add(world_a.tenant, actor=world_a.rep2, meeting=meeting, title="Mine")
    assert str(denied.value) == "Only the two people of a 1:1 change it."


def test_an_action_item_on_another_reps_deal_is_refused_on_deal(world_a, in_tenant_a):
    from tests.pipeline.factories import DealFactory

    deal = DealFactory(tenant=world_a.tenant, owner=world_a.rep2, name="Rita's deal")
    with pytest.raises(ValidationError) as refused:
        services.action_create(
            world_a.tenant,
            actor=world_a.manager,
            member=world_a.rep1,
            title="Help Rita",
            due_on=dt.date(2027, 3, 1),
            deal=deal,
        )
    assert refused.value.message_dict == {"deal": ["Choose a deal of Ray One."]}
    assert ActionItem.objects.count() == 0
