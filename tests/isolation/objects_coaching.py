"""Objects of the coaching pillar for the isolation tests (see test_discovery.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from coaching import services
from coaching.models import Meeting, Review
from spm.models import FiscalPeriod

QUESTIONS = [{"key": "wins", "text": "What went well?", "kind": "text"}]


def make_objects(world: Any) -> list[Any]:
    t, admin, manager, rep = world.tenant, world.admin, world.manager, world.rep1
    first = dt.datetime(2027, 2, 20, 10, tzinfo=dt.UTC)
    series = services.series_create(t, actor=manager, member=rep, first_at=first, every_days=14)
    meeting = Meeting.objects.get(tenant=t, series=series)
    topic = services.agenda_item_add(t, actor=rep, meeting=meeting, title="Territory split")
    note = services.private_note_add(t, actor=manager, meeting=meeting, body="Ready for more")
    action = services.action_create(
        t,
        actor=manager,
        member=rep,
        meeting=meeting,
        title="Send the proposal",
        due_on=dt.date(2027, 2, 25),
    )
    skill = services.skills_ensure_default(t, actor=admin)[0]
    assessment = services.assessment_record(
        t, actor=manager, member=rep, skill=skill, level=3, assessed_on=dt.date(2027, 2, 1)
    )
    training = services.training_assign(
        t, actor=manager, member=rep, title="Objection handling", due_on=dt.date(2027, 3, 1)
    )
    practice = services.practice_log(
        t,
        actor=manager,
        member=rep,
        scenario="Price objection",
        practiced_on=dt.date(2027, 2, 3),
        ratings={skill: 3},
        customer_played_by=manager,
    )
    plan = services.development_item_add(
        t, actor=manager, member=rep, skill=skill, target_level=4, action=action, training=training
    )
    q1 = FiscalPeriod.objects.get(tenant=t, kind="quarter", fiscal_year=2027, number=1)
    cycle = services.cycle_open(t, actor=admin, name="Q1 review", period=q1, questions=QUESTIONS)
    review = Review.objects.get(tenant=t, cycle=cycle, member=rep)
    kudos = services.kudos_give(t, actor=manager, recipient=rep, message="Great demo")
    return [
        series,
        meeting,
        topic,
        note,
        action,
        skill,
        assessment,
        training,
        practice,
        plan,
        cycle,
        review,
        kudos,
    ]
