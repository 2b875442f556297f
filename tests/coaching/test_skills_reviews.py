"""Skills, reviews, recognition, benchmarks and emails: rules and exact values."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from coaching import selectors, services
from coaching.models import Assessment, Recognition, Review
from spm import services as spm_services
from spm.tenancy.context import tenant_context
from tests.coaching.factories import at, kpis_set, q1
from tests.conftest import api_client_for

QUESTIONS = [
    {"key": "results", "text": "How did the quarter go?", "kind": "rating"},
    {"key": "wins", "text": "What went well?", "kind": "text"},
]


def test_an_assessment_level_out_of_range_is_refused_on_level(world_a, in_tenant_a):
    skill = services.skills_ensure_default(world_a.tenant, actor=world_a.admin)[0]
    with pytest.raises(ValidationError) as refused:
        services.assessment_record(
            world_a.tenant,
            actor=world_a.manager,
            member=world_a.rep1,
            skill=skill,
            level=6,
            assessed_on=dt.date(2027, 2, 1),
        )
    assert refused.value.message_dict == {"level": ["Choose a level from 1 to 5."]}
    assert Assessment.objects.count() == 0


def test_the_profile_compares_self_and_manager_over_time(world_a, in_tenant_a):
    t = world_a.tenant
    skills = services.skills_ensure_default(t, actor=world_a.admin)
    assert [s.name for s in skills] == [
        "Prospecting",
        "Discovery",
        "Demo",
        "Negotiation",
        "Closing",
        "Product knowledge",
    ]
    prospecting, discovery = skills[0], skills[1]
    for actor, level, day in (
        (world_a.rep1, 2, dt.date(2027, 1, 5)),
        (world_a.manager, 1, dt.date(2027, 1, 6)),
        (world_a.rep1, 4, dt.date(2027, 2, 5)),
        (world_a.manager, 3, dt.date(2027, 2, 6)),
    ):
        services.assessment_record(
            t, actor=actor, member=world_a.rep1, skill=prospecting, level=level, assessed_on=day
        )
    services.practice_log(
        t,
        actor=world_a.manager,
        member=world_a.rep1,
        scenario="Cold call",
        practiced_on=dt.date(2027, 2, 7),
        ratings={prospecting: 3, discovery: 4},
        customer_played_by=world_a.rep2,
    )
    services.practice_log(
        t,
        actor=world_a.rep1,
        member=world_a.rep1,
        scenario="Gatekeeper",
        practiced_on=dt.date(2027, 2, 8),
        ratings={prospecting: 4},
    )
    training = services.training_assign(
        t,
        actor=world_a.manager,
        member=world_a.rep1,
        title="Cold calling basics",
        link="https://learn.example.com/cold",
        due_on=dt.date(2027, 3, 1),
        skill=prospecting,
    )
    services.training_complete(
        t, actor=world_a.rep1, training=training, completed_on=dt.date(2027, 2, 20)
    )
    profile = selectors.skill_profile(t, member=world_a.rep1)
    first = profile.lines[0]
    assert (
        first.skill.name,
        first.first_self,
        first.self_level,
        first.first_manager,
        first.manager_level,
        first.practice_count,
        first.practice_average,
        first.training_count,
        first.training_done,
    ) == (
        "Prospecting",
        2,
        4,
        1,
        3,
        2,
        3.5,
        1,
        1,
    )
    assert (profile.lines[1].practice_count, profile.lines[1].practice_average) == (1, 4.0)
    assert profile.practice_logs == 2


def _cycle(world):
    return services.cycle_open(
        world.tenant,
        actor=world.admin,
        name="Q1 2027 review",
        period=q1(world.tenant),
        questions=QUESTIONS,
    )


def test_opening_a_cycle_gives_each_rep_a_review_with_their_nearest_manager(world_a, in_tenant_a):
    cycle = _cycle(world_a)
    rows = sorted(
        (r.member.display_name, r.manager.display_name)
        for r in Review.objects.filter(cycle=cycle).select_related("member__user", "manager__user")
    )
    assert rows == [
        ("Otto Three", "Max Other"),
        ("Ray One", "Mia Manager"),
        ("Rita Two", "Mia Manager"),
    ]


def test_a_bad_question_is_refused_naming_its_path(world_a, in_tenant_a):
    with pytest.raises(ValidationError) as refused:
        services.cycle_open(
            world_a.tenant,
            actor=world_a.admin,
            name="Bad",
            period=q1(world_a.tenant),
            questions=[*QUESTIONS, {"key": "mood", "text": "Mood?", "kind": "emoji"}],
        )
    assert refused.value.message_dict == {"questions[2].kind": ["Choose rating or text."]}


def test_each_side_sees_the_other_only_after_both_submit(world_a, world_b):
    with tenant_context(world_a.tenant):
        cycle = _cycle(world_a)
        review = Review.objects.get(cycle=cycle, member=world_a.rep1)
    url = f"/api/v1/{world_a.tenant.slug}/coaching/reviews/{review.pk}/"
    rep, manager = api_client_for(world_a.rep1.user), api_client_for(world_a.manager.user)
    mine = rep.post(
        f"{url}submit/", {"answers": {"results": 4, "wins": "Closed Globex"}}, format="json"
    )
    assert mine.status_code == 200
    seen = manager.get(url).json()
    assert (seen["self_answers"], seen["self_submitted_at"] is not None) == (None, True)
    theirs = manager.post(
        f"{url}submit/",
        {"answers": {"results": 3, "wins": "Globex"}, "overall_rating": 4},
        format="json",
    )
    assert theirs.status_code == 200
    both = rep.get(url).json()
    assert (both["self_answers"], both["manager_answers"], both["overall_rating"]) == (
        {"results": 4, "wins": "Closed Globex"},
        {"results": 3, "wins": "Globex"},
        4,
    )
    twice = rep.post(f"{url}submit/", {"answers": {"results": 5, "wins": "x"}}, format="json")
    assert twice.status_code == 400
    assert [(e["field"], e["message"]) for e in twice.json()["errors"]] == [
        ("self_answers", "You already submitted your self review.")
    ]
    assert rep.post(f"{url}acknowledge/", format="json").status_code == 200
    other_tenant = api_client_for(world_b.rep1.user).get(url)
    assert other_tenant.status_code == 404


def test_a_review_after_the_cycle_closed_is_refused(world_a, in_tenant_a):
    cycle = _cycle(world_a)
    review = Review.objects.select_related("cycle").get(cycle=cycle, member=world_a.rep1)
    services.cycle_close(world_a.tenant, actor=world_a.admin, cycle=cycle)
    review.cycle.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        services.review_submit_self(
            world_a.tenant,
            actor=world_a.rep1,
            review=review,
            answers={"results": 4, "wins": "Closed Globex"},
        )
    assert refused.value.message_dict == {"self_answers": ["The cycle Q1 2027 review is closed."]}
    review.refresh_from_db()
    assert (review.self_answers, review.self_submitted_at) == ({}, None)


def test_the_calibration_lists_the_managers_reviews_with_their_numbers(world_a, in_tenant_a):
    t = world_a.tenant
    kpis_set(
        t, world_a.rep1, q1(t), bookings="60000.00", quota="90000.00", attainment="0.6666666667"
    )
    kpis_set(t, world_a.rep2, q1(t), bookings="30000.00", quota="40000.00", attainment="0.75")
    cycle = _cycle(world_a)
    rows = selectors.calibration(t, reach=_reach(world_a.other_manager), cycle=cycle)
    assert [r.sides.review.member.display_name for r in rows] == ["Otto Three"]
    rows = selectors.calibration(t, reach=_reach(world_a.manager), cycle=cycle)
    assert [
        (r.sides.review.member.display_name, r.numbers.kpis.get("attainment")) for r in rows
    ] == [
        ("Rita Two", Decimal("0.7500000000")),
        ("Ray One", Decimal("0.6666666667")),
        ("Otto Three", None),
    ]


def _reach(member):
    from spm.reach import Reach

    return Reach(member)


def test_kudos_to_a_member_of_another_tenant_is_refused_on_recipient(world_a, world_b):
    response = api_client_for(world_a.rep1.user).post(
        f"/api/v1/{world_a.tenant.slug}/coaching/recognition/",
        {"recipient": world_b.rep2.pk, "message": "Nice"},
        format="json",
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["recipient"]
    with tenant_context(world_a.tenant):
        assert Recognition.objects.count() == 0
    with tenant_context(world_a.tenant), pytest.raises(ValidationError) as refused:
        services.kudos_give(
            world_a.tenant, actor=world_a.rep1, recipient=world_b.rep2, message="Nice"
        )
    assert refused.value.message_dict == {"recipient": ["Choose a member of this company."]}


def test_kudos_mail_follows_the_recipients_choice(
    world_a, in_tenant_a, django_capture_on_commit_callbacks
):
    t = world_a.tenant
    with django_capture_on_commit_callbacks(execute=True):
        services.kudos_give(
            t, actor=world_a.rep1, recipient=world_a.rep2, message="Thanks for the lead"
        )
    services.preferences_save(
        t, actor=world_a.rep1, meeting_reminders=True, review_steps=True, kudos_received=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.kudos_give(t, actor=world_a.rep2, recipient=world_a.rep1, message="Great demo")
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["rep2@alpha.test"], "[Alpha Inc] Kudos from Ray One")
    ]


def test_milestones_are_recognised_once(world_a, in_tenant_a):
    t = world_a.tenant
    quarter = q1(t)
    kpis_set(t, world_a.rep1, quarter, attainment="1.02")
    kpis_set(t, world_a.rep2, quarter, attainment="0.99")
    assert services.milestones_recognise(t, periods=[quarter]) == 1
    assert services.milestones_recognise(t, periods=[quarter]) == 0
    assert list(Recognition.objects.values_list("recipient__user__first_name", "message")) == [
        ("Ray", "Reached 102% of quota in FY2027 Q1")
    ]


def test_top_three_of_a_closed_period(world_a, in_tenant_a):
    t = world_a.tenant
    quarter = q1(t)
    for member, value in (
        (world_a.rep1, "0.5"),
        (world_a.rep2, "0.9"),
        (world_a.other_rep, "0.7"),
        (world_a.manager, "0.2"),
    ):
        kpis_set(t, member, quarter, attainment=value)
    quarter.is_closed = True
    services.milestones_recognise(t, periods=[quarter])
    assert sorted(
        Recognition.objects.filter(kind="top3").values_list(
            "recipient__user__first_name", "message"
        )
    ) == [
        ("Otto", "Number 2 on the attainment leaderboard of FY2027 Q1"),
        ("Ray", "Number 3 on the attainment leaderboard of FY2027 Q1"),
        ("Rita", "Number 1 on the attainment leaderboard of FY2027 Q1"),
    ]


def test_benchmark_sets_a_rep_beside_the_team_median_and_company_top_quartile(world_a, in_tenant_a):
    t = world_a.tenant
    quarter = q1(t)
    kpis_set(t, world_a.rep1, quarter, bookings="10000.00", sales_cycle_length="40")
    kpis_set(t, world_a.rep2, quarter, bookings="30000.00", sales_cycle_length="20")
    kpis_set(t, world_a.other_rep, quarter, bookings="50000.00", sales_cycle_length="30")
    rows = {r.kpi.key: r for r in selectors.benchmark(t, member=world_a.rep1, period=quarter)}
    # Team West: 10,000 and 30,000 -> median 20,000. Company: 10k, 30k, 50k ->
    # 75th percentile 40,000; the cycle is lower-is-better: 25th percentile 25 days.
    assert (
        rows["bookings"].value,
        rows["bookings"].team_median,
        rows["bookings"].top_quartile,
    ) == (
        Decimal("10000.00"),
        Decimal("20000.00"),
        Decimal("40000.00"),
    )
    assert (rows["sales_cycle_length"].team_median, rows["sales_cycle_length"].top_quartile) == (
        Decimal("30"),
        Decimal("25"),
    )
    assert rows["win_rate"].value is None


def test_reminders_go_the_day_before_once(world_a, in_tenant_a, django_capture_on_commit_callbacks):
    t = world_a.tenant
    services.series_create(
        t,
        actor=world_a.manager,
        member=world_a.rep1,
        first_at=at(dt.date(2027, 2, 16), 9),
        every_days=14,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.meeting_reminders_send(t, now=at(dt.date(2027, 2, 15), 7)) == 0
        assert services.meeting_reminders_send(t, now=at(dt.date(2027, 2, 15), 10)) == 2
        assert services.meeting_reminders_send(t, now=at(dt.date(2027, 2, 15), 11)) == 0
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("manager@alpha.test", "[Alpha Inc] 1:1 with Ray One Feb 16, 2027 09:00"),
        ("rep1@alpha.test", "[Alpha Inc] 1:1 with Mia Manager Feb 16, 2027 09:00"),
    ]


def test_closing_a_quarter_recognises_its_top_three_through_the_worker(world_a, worker):
    """The admin closes FY2027 Q1: the PeriodClosed receiver queues the
    milestone scan, and the worker records the top three once."""
    t = world_a.tenant
    with tenant_context(t):
        quarter = q1(t)
        for member, value in (
            (world_a.rep1, "0.5"),
            (world_a.rep2, "0.9"),
            (world_a.other_rep, "0.7"),
        ):
            kpis_set(t, member, quarter, attainment=value)
        spm_services.period_close(t, period=quarter, actor=world_a.admin.user)

    def top3() -> list[tuple[str, str]]:
        with tenant_context(t):
            return sorted(
                Recognition.objects.filter(kind="top3").values_list(
                    "recipient__user__first_name", "message"
                )
            )

    deadline = time.monotonic() + 60
    while not top3() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert top3() == [
        ("Otto", "Number 2 on the attainment leaderboard of FY2027 Q1"),
        ("Ray", "Number 3 on the attainment leaderboard of FY2027 Q1"),
        ("Rita", "Number 1 on the attainment leaderboard of FY2027 Q1"),
    ]
