"""Coaching pages per role: what each sees, the writes, bad input, query counts."""

from __future__ import annotations

import datetime as dt

from coaching import services
from coaching.models import ActionItem, AgendaItem, Meeting, PrivateNote
from spm.tenancy.context import tenant_context
from tests.coaching.factories import at
from tests.conftest import api_client_for, client_for


def _meeting(world):
    with tenant_context(world.tenant):
        series = services.series_create(
            world.tenant,
            actor=world.manager,
            member=world.rep1,
            first_at=at(dt.date(2027, 2, 20)),
            every_days=14,
        )
        return Meeting.objects.get(series=series)


def _pages(world, meeting):
    base = f"/{world.tenant.slug}/coaching/"
    return {
        "home": base,
        "meeting": f"{base}meetings/{meeting.pk}/",
        "actions": f"{base}actions/",
        "team": f"{base}team/",
        "skills": f"{base}skills/",
        "member-skills": f"{base}people/{world.rep1.pk}/skills/",
        "profile": f"{base}people/{world.rep1.pk}/",
        "reviews": f"{base}reviews/",
        "recognition": f"{base}recognition/",
        "framework": f"{base}skills/framework/",
        "preferences": f"{base}preferences/",
    }


def test_each_role_gets_the_pages_it_may_see(world_a, world_b):
    meeting = _meeting(world_a)
    pages = _pages(world_a, meeting)
    codes = {
        who: {
            name: client_for(getattr(world_a, who).user).get(url).status_code
            for name, url in pages.items()
        }
        for who in ("admin", "manager", "rep1", "rep2", "finance")
    }
    ok = dict.fromkeys(pages, 200)
    assert codes["admin"] == ok
    assert codes["manager"] == {**ok, "framework": 403}
    assert codes["rep1"] == {**ok, "team": 403, "framework": 403}
    assert codes["rep2"] == {
        **ok,
        "meeting": 404,
        "team": 403,
        "framework": 403,
        "member-skills": 404,
        "profile": 404,
    }
    assert codes["finance"] == {
        **ok,
        "meeting": 404,
        "team": 403,
        "framework": 403,
        "member-skills": 404,
        "profile": 404,
    }
    outsider = client_for(world_b.admin.user)
    assert {name: outsider.get(url).status_code for name, url in pages.items()} == dict.fromkeys(
        pages, 404
    )


def test_manager_and_rep_write_on_the_meeting_page(world_a):
    meeting = _meeting(world_a)
    base = f"/{world_a.tenant.slug}/coaching/meetings/{meeting.pk}/"
    manager, rep = client_for(world_a.manager.user), client_for(world_a.rep1.user)
    assert rep.post(f"{base}topics/", {"topic-title": "Holiday plans"}).status_code == 302
    assert (
        manager.post(f"{base}private/", {"private-body": "Promotion candidate"}).status_code == 302
    )
    assert rep.post(f"{base}private/", {"private-body": "Sneaky"}).status_code == 403
    added = manager.post(
        f"{base}actions/",
        {"action-title": "Call Globex", "action-due_on": "2027-02-25", "action-owner": "member"},
        HTTP_HX_REQUEST="true",
    )
    assert added.status_code == 302
    bad = manager.post(f"{base}actions/", {"action-title": "No date", "action-owner": "member"})
    assert bad.status_code == 400
    assert "This field is required." in bad.content.decode()
    page = rep.get(base).content.decode()
    assert "Holiday plans" in page
    assert "Call Globex" in page
    assert "Promotion candidate" not in page
    assert "Promotion candidate" in manager.get(base).content.decode()
    with tenant_context(world_a.tenant):
        assert list(AgendaItem.objects.values_list("title", flat=True)) == ["Holiday plans"]
        assert list(PrivateNote.objects.values_list("body", flat=True)) == ["Promotion candidate"]
        assert list(ActionItem.objects.values_list("title", "owner_id")) == [
            ("Call Globex", world_a.rep1.pk)
        ]


def test_a_series_with_someone_outside_the_team_shows_the_error(world_a):
    response = client_for(world_a.other_manager.user).post(
        f"/{world_a.tenant.slug}/coaching/series/new/",
        {"member": world_a.rep1.pk, "first_at": "2027-02-20T10:00", "every_days": 14},
    )
    assert response.status_code == 400
    assert "Ray One is not in your team: choose someone you manage." in response.content.decode()


def test_the_meeting_page_reads_a_fixed_number_of_queries(world_a, django_assert_num_queries):
    meeting = _meeting(world_a)
    with tenant_context(world_a.tenant):
        for i in range(3):
            services.action_create(
                world_a.tenant,
                actor=world_a.manager,
                member=world_a.rep1,
                meeting=meeting,
                title=f"Action {i}",
                due_on=dt.date(2027, 2, 25),
            )
            services.agenda_item_add(
                world_a.tenant, actor=world_a.rep1, meeting=meeting, title=f"Topic {i}"
            )
    client = client_for(world_a.manager.user)
    url = f"/{world_a.tenant.slug}/coaching/meetings/{meeting.pk}/"
    client.get(url)
    with django_assert_num_queries(21):
        assert client.get(url).status_code == 200


def test_only_the_two_people_of_a_1on1_refresh_its_agenda(world_a):
    """The page and the API answer the same: the manager and the rep refresh
    it; an admin, who reads every 1:1, may not."""
    meeting = _meeting(world_a)
    page = f"/{world_a.tenant.slug}/coaching/meetings/{meeting.pk}/refresh/"
    api = f"/api/v1/{world_a.tenant.slug}/coaching/meetings/{meeting.pk}/agenda/"
    assert client_for(world_a.rep1.user).post(page).status_code == 302
    assert client_for(world_a.admin.user).post(page).status_code == 403
    assert api_client_for(world_a.manager.user).post(api).status_code == 200
    refused = api_client_for(world_a.admin.user).post(api)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "Only the two people of a 1:1 change it.",
    )
