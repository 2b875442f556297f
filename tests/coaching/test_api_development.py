"""The skills, assessments, training, practice and development endpoints:
who may write what, refusals naming the field, and who reads what."""

from __future__ import annotations

import pytest

from tests.conftest import api_client_for

BASE = "/api/v1/alpha/coaching"


def _errors(response) -> list[tuple[str, str]]:
    return [(e["field"], e["message"]) for e in response.json()["errors"]]


@pytest.fixture
def skills(world_a) -> dict[str, int]:
    """The default framework, given by the admin: name -> id."""
    answer = api_client_for(world_a.admin.user).post(f"{BASE}/skills/defaults/", format="json")
    assert answer.status_code == 200
    return {row["name"]: row["id"] for row in answer.json()}


def test_the_admin_gives_the_default_framework_and_only_admins_change_it(world_a, skills):
    assert list(skills) == [
        "Prospecting",
        "Discovery",
        "Demo",
        "Negotiation",
        "Closing",
        "Product knowledge",
    ]
    admin, rep = api_client_for(world_a.admin.user), api_client_for(world_a.rep1.user)
    added = admin.post(f"{BASE}/skills/", {"name": "Forecasting", "position": 6}, format="json")
    assert added.status_code == 201
    twice = admin.post(f"{BASE}/skills/", {"name": "Forecasting"}, format="json")
    assert (twice.status_code, _errors(twice)) == (
        400,
        [("name", "There is already a skill named Forecasting.")],
    )
    assert rep.post(f"{BASE}/skills/", {"name": "Golf"}, format="json").status_code == 403
    retired = admin.patch(f"{BASE}/skills/{skills['Demo']}/", {"is_active": False}, format="json")
    assert (retired.status_code, retired.json()["name"], retired.json()["is_active"]) == (
        200,
        "Demo",
        False,
    )
    active = rep.get(f"{BASE}/skills/", {"is_active": "true"}).json()["results"]
    assert [row["name"] for row in active] == [
        "Prospecting",
        "Discovery",
        "Negotiation",
        "Closing",
        "Product knowledge",
        "Forecasting",
    ]


def test_self_and_manager_assessments_and_who_reads_them(world_a, skills):
    rep, manager = api_client_for(world_a.rep1.user), api_client_for(world_a.manager.user)
    body = {"skill": skills["Discovery"], "assessed_on": "2027-01-15"}
    mine = rep.post(f"{BASE}/assessments/", {**body, "member": world_a.rep1.pk, "level": 4})
    theirs = manager.post(f"{BASE}/assessments/", {**body, "member": world_a.rep1.pk, "level": 3})
    assert (mine.status_code, mine.json()["kind"], mine.json()["assessor"]) == (
        201,
        "self",
        world_a.rep1.pk,
    )
    assert (theirs.status_code, theirs.json()["kind"]) == (201, "manager")

    too_high = rep.post(f"{BASE}/assessments/", {**body, "member": world_a.rep1.pk, "level": 6})
    assert (too_high.status_code, _errors(too_high)) == (
        400,
        [("level", "Choose a level from 1 to 5.")],
    )
    colleague = rep.post(f"{BASE}/assessments/", {**body, "member": world_a.rep2.pk, "level": 2})
    assert (colleague.status_code, _errors(colleague)) == (
        400,
        [("member", "Choose yourself or someone you manage.")],
    )
    outside = api_client_for(world_a.other_manager.user).post(
        f"{BASE}/assessments/", {**body, "member": world_a.rep1.pk, "level": 2}
    )
    assert _errors(outside) == [("member", "Choose yourself or someone you manage.")]

    def levels(user) -> list[tuple[int, str, int]]:
        rows = api_client_for(user).get(f"{BASE}/assessments/").json()["results"]
        return [(row["member"], row["kind"], row["level"]) for row in rows]

    both = [(world_a.rep1.pk, "self", 4), (world_a.rep1.pk, "manager", 3)]
    assert levels(world_a.rep1.user) == both
    assert levels(world_a.manager.user) == both
    assert levels(world_a.admin.user) == both
    assert levels(world_a.rep2.user) == []
    assert levels(world_a.other_manager.user) == []
    assert levels(world_a.finance.user) == []


def test_training_is_assigned_by_the_coach_and_completed_by_the_member(world_a, skills):
    manager, rep = api_client_for(world_a.manager.user), api_client_for(world_a.rep1.user)
    assigned = manager.post(
        f"{BASE}/training/",
        {
            "member": world_a.rep1.pk,
            "title": "  Discovery questions  ",
            "link": "https://learn.example.com/discovery",
            "due_on": "2027-02-28",
            "skill": skills["Discovery"],
        },
        format="json",
    )
    assert assigned.status_code == 201
    row = assigned.json()
    assert (row["title"], row["assigned_by"], row["completed_on"]) == (
        "Discovery questions",
        world_a.manager.pk,
        None,
    )
    done = rep.patch(f"{BASE}/training/{row['id']}/", {"completed_on": "2027-02-20"}, format="json")
    assert (done.status_code, done.json()["completed_on"]) == (200, "2027-02-20")

    untitled = manager.post(
        f"{BASE}/training/",
        {"member": world_a.rep1.pk, "title": " ", "due_on": "2027-02-28"},
        format="json",
    )
    assert _errors(untitled) == [("title", "This field may not be blank.")]
    bad_link = manager.post(
        f"{BASE}/training/",
        {"member": world_a.rep1.pk, "title": "Demo", "link": "not a link", "due_on": "2027-03-01"},
        format="json",
    )
    assert (bad_link.status_code, [f for f, _ in _errors(bad_link)]) == (400, ["link"])
    someone_else = api_client_for(world_a.rep2.user).patch(
        f"{BASE}/training/{row['id']}/", {"completed_on": "2027-02-21"}, format="json"
    )
    assert someone_else.status_code == 404
    assert api_client_for(world_a.rep2.user).get(f"{BASE}/training/").json()["results"] == []


def test_practice_is_logged_with_a_rating_per_skill(world_a, skills):
    manager = api_client_for(world_a.manager.user)
    body = {
        "member": world_a.rep1.pk,
        "scenario": "Pricing objection from a CFO",
        "customer_played_by": world_a.manager.pk,
        "practiced_on": "2027-01-20",
        "feedback": "Anchor on value before discounting.",
        "ratings": [
            {"skill": skills["Negotiation"], "rating": 3},
            {"skill": skills["Closing"], "rating": 4},
        ],
    }
    logged = manager.post(f"{BASE}/practice/", body, format="json")
    assert logged.status_code == 201
    read = api_client_for(world_a.rep1.user).get(f"{BASE}/practice/").json()["results"]
    assert [
        (
            row["scenario"],
            row["logged_by"],
            sorted((r["skill"], r["rating"]) for r in row["ratings"]),
        )
        for row in read
    ] == [
        (
            "Pricing objection from a CFO",
            world_a.manager.pk,
            sorted([(skills["Negotiation"], 3), (skills["Closing"], 4)]),
        )
    ]

    zero = manager.post(
        f"{BASE}/practice/",
        {**body, "ratings": [{"skill": skills["Closing"], "rating": 0}]},
        format="json",
    )
    assert (zero.status_code, _errors(zero)) == (400, [("ratings", "Choose a level from 1 to 5.")])
    blank = manager.post(f"{BASE}/practice/", {**body, "scenario": ""}, format="json")
    assert (blank.status_code, [f for f, _ in _errors(blank)]) == (400, ["scenario"])


def test_a_development_plan_links_a_skill_to_the_members_own_actions_and_training(
    world_a, world_b, skills
):
    manager = api_client_for(world_a.manager.user)
    training = manager.post(
        f"{BASE}/training/",
        {"member": world_a.rep1.pk, "title": "Negotiation basics", "due_on": "2027-03-31"},
        format="json",
    ).json()
    others = manager.post(
        f"{BASE}/training/",
        {"member": world_a.rep2.pk, "title": "Negotiation basics", "due_on": "2027-03-31"},
        format="json",
    ).json()
    body = {
        "member": world_a.rep1.pk,
        "skill": skills["Negotiation"],
        "target_level": 4,
        "note": "Hold price on renewals",
        "training": training["id"],
    }
    added = manager.post(f"{BASE}/development/", body, format="json")
    assert added.status_code == 201
    assert (added.json()["target_level"], added.json()["training"]) == (4, training["id"])

    wrong_training = manager.post(
        f"{BASE}/development/", {**body, "training": others["id"]}, format="json"
    )
    assert _errors(wrong_training) == [("training", "Choose a training of Ray One.")]
    too_high = manager.post(f"{BASE}/development/", {**body, "target_level": 9}, format="json")
    assert _errors(too_high) == [("target_level", "Choose a level from 1 to 5.")]
    with_b_skill = api_client_for(world_b.admin.user).post(
        "/api/v1/beta/coaching/skills/", {"name": "Beta skill"}, format="json"
    )
    foreign = manager.post(
        f"{BASE}/development/", {**body, "skill": with_b_skill.json()["id"]}, format="json"
    )
    assert (foreign.status_code, [f for f, _ in _errors(foreign)]) == (400, ["skill"])

    plan = api_client_for(world_a.rep1.user).get(f"{BASE}/development/").json()["results"]
    assert [(row["skill"], row["note"]) for row in plan] == [
        (skills["Negotiation"], "Hold price on renewals")
    ]
    assert api_client_for(world_a.rep2.user).get(f"{BASE}/development/").json()["results"] == []
