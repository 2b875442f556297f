"""Demo data for the coaching pillar (``manage.py seed_demo``): four months of
fortnightly 1:1s per regional manager and rep with shared and private notes
and action items, the next 1:1 with its agenda pre-filled, the default skills
framework with self and manager assessments, training and practice, one
closed and one open review cycle, kudos and the milestones reached.

History is written in bulk (it is the past: no audit, no mail); the next
1:1s go through ``agenda_refresh`` so their agendas come from the numbers.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone

from coaching import selectors, services
from coaching.agenda import baseline_of
from coaching.models import (
    DEFAULT_QUESTIONS,
    ActionItem,
    ActionStatus,
    Assessment,
    AssessmentKind,
    Meeting,
    MeetingStatus,
    PracticeLog,
    PracticeRating,
    PrivateNote,
    Recognition,
    RecognitionKind,
    Review,
    Series,
    TrainingAssignment,
)
from pipeline.models import Deal, DealStatus
from spm.models import Membership, Tenant
from spm.selectors import period_containing

WEEKS = 16
NOTES = [
    "Walked through the quarter's pipeline; agreed to qualify out two long shots.",
    "Discussed the pricing pushback at the two biggest accounts.",
    "Reviewed call recordings from discovery; better questions on budget.",
    "Territory planning for next quarter; focus on the top 20 accounts.",
    "Celebrated the last win; wrote down what made it work.",
]
PRIVATE = [
    "Ready for a larger territory if the quarter closes well.",
    "Needs support on negotiation; consider pairing with a senior rep.",
    "Energy was low today; check in on workload.",
]
ACTIONS = [
    "Send the revised proposal",
    "Book a demo with the economic buyer",
    "Update the close plan in the CRM",
    "Prepare the QBR deck",
    "Shadow a senior rep on a negotiation call",
]
TRAININGS = [
    ("Discovery that finds budget", "https://learn.example.com/discovery"),
    ("Negotiating without discounting", "https://learn.example.com/negotiation"),
    ("Product deep dive: analytics", "https://learn.example.com/product"),
]
KUDOS = [
    "Thanks for covering my demo on short notice!",
    "Brilliant negotiation on the renewal.",
    "Your discovery notes saved the deal.",
    "Great mentoring of the new hires this month.",
]


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def _reps_of(people: Any, manager: Membership) -> list[Membership]:
    team_ids = {t.pk for t in people.teams if t.manager_id == manager.pk}
    return [r for r in people.reps if r.team_id in team_ids and r.is_active]


def _history(tenant: Tenant, *, rng: random.Random, today: dt.date, people: Any) -> list[Meeting]:
    """Fortnightly 1:1s of the last ``WEEKS`` weeks, each rep's next one scheduled."""
    upcoming = []
    start = today - dt.timedelta(weeks=WEEKS)
    for manager in people.managers:
        for rep in _reps_of(people, manager):
            first = start + dt.timedelta(days=rng.randint(0, 13))
            days = [first + dt.timedelta(days=14 * i) for i in range(WEEKS // 2 + 1)]
            past = [d for d in days if d < today]
            hour = rng.choice([9, 10, 14, 16])
            series = Series.objects.create(
                tenant=tenant,
                manager=manager,
                member=rep,
                every_days=14,
                next_at=_at(past[-1] + dt.timedelta(days=14), hour),
            )
            held = Meeting.objects.bulk_create(
                Meeting(
                    tenant=tenant,
                    series=series,
                    manager=manager,
                    member=rep,
                    scheduled_at=_at(day, hour),
                    status=MeetingStatus.HELD,
                    held_at=_at(day, hour + 1),
                    shared_notes=rng.choice(NOTES),
                )
                for day in past
            )
            last = held[-1]
            last.baseline = _earlier(baseline_of(tenant, member=rep, today=today), rng=rng)
            last.save(update_fields=["baseline"])
            PrivateNote.objects.bulk_create(
                PrivateNote(tenant=tenant, meeting=m, author=manager, body=rng.choice(PRIVATE))
                for m in held
                if rng.random() < 0.3
            )
            _actions(tenant, rng=rng, today=today, manager=manager, rep=rep, held=held)
            upcoming.append(
                Meeting.objects.create(
                    tenant=tenant,
                    series=series,
                    manager=manager,
                    member=rep,
                    scheduled_at=series.next_at,
                )
            )
    return upcoming


def _earlier(baseline: dict[str, Any], *, rng: random.Random) -> dict[str, Any]:
    """The values as they stood at the previous 1:1: a little lower for money
    and counts, a few points off for ratios."""
    values: dict[str, str | None] = {}
    for kpi, value in baseline.get("values", {}).items():
        if value is None:
            values[kpi] = None
            continue
        number = Decimal(value)
        if kpi in ("win_rate", "attainment"):
            number = max(Decimal(0), number + Decimal(rng.choice([-15, -5, 5, 15])) / 100)
        else:
            number = (number * Decimal(rng.choice(["0.6", "0.85", "1", "1.3"]))).quantize(
                Decimal("0.01")
            )
        values[kpi] = str(number)
    return {**baseline, "values": values}


def _actions(
    tenant: Tenant,
    *,
    rng: random.Random,
    today: dt.date,
    manager: Membership,
    rep: Membership,
    held: list[Meeting],
) -> None:
    deal = (
        Deal.objects.filter(tenant=tenant, owner=rep, status=DealStatus.OPEN)
        .order_by("expected_close_date", "id")
        .first()
    )
    rows = []
    for i, meeting in enumerate(held[-3:]):
        due = meeting.scheduled_at.date() + dt.timedelta(days=rng.randint(5, 20))
        done = due < today and rng.random() < 0.6
        rows.append(
            ActionItem(
                tenant=tenant,
                member=rep,
                owner=manager if i == 1 else rep,
                meeting=meeting,
                title=rng.choice(ACTIONS),
                due_on=due,
                status=ActionStatus.DONE if done else ActionStatus.OPEN,
                completed_at=_at(due, 12) if done else None,
                deal=deal if i == 0 else None,
                created_by=manager,
            )
        )
    ActionItem.objects.bulk_create(rows)


def _skills(tenant: Tenant, *, rng: random.Random, today: dt.date, people: Any) -> None:
    skills = services.skills_ensure_default(tenant, actor=None)
    assessments, trainings, logs = [], [], []
    for manager in people.managers:
        for rep in _reps_of(people, manager):
            for skill in skills:
                base = rng.randint(1, 4)
                for days_ago, step in ((100, 0), (30, 1)):
                    day = today - dt.timedelta(days=days_ago)
                    assessments += [
                        Assessment(
                            tenant=tenant,
                            member=rep,
                            skill=skill,
                            assessor=rep,
                            kind=AssessmentKind.SELF,
                            level=min(5, base + step + 1),
                            assessed_on=day,
                        ),
                        Assessment(
                            tenant=tenant,
                            member=rep,
                            skill=skill,
                            assessor=manager,
                            kind=AssessmentKind.MANAGER,
                            level=min(5, base + step),
                            assessed_on=day,
                        ),
                    ]
            title, link = rng.choice(TRAININGS)
            due = today + dt.timedelta(days=rng.randint(-20, 30))
            trainings.append(
                TrainingAssignment(
                    tenant=tenant,
                    member=rep,
                    title=title,
                    link=link,
                    due_on=due,
                    completed_on=due - dt.timedelta(days=2) if rng.random() < 0.5 else None,
                    skill=rng.choice(skills),
                    assigned_by=manager,
                )
            )
            logs.append(
                PracticeLog(
                    tenant=tenant,
                    member=rep,
                    scenario="Price objection from a procurement lead",
                    customer_played_by=manager,
                    logged_by=manager,
                    practiced_on=today - dt.timedelta(days=rng.randint(3, 40)),
                    feedback="Held the price; anchor on value earlier.",
                )
            )
    Assessment.objects.bulk_create(assessments)
    TrainingAssignment.objects.bulk_create(trainings)
    PracticeLog.objects.bulk_create(logs)
    PracticeRating.objects.bulk_create(
        PracticeRating(tenant=tenant, log=log, skill=skill, rating=rng.randint(2, 5))
        for log in logs
        for skill in skills[3:5]
    )


def _reviews(tenant: Tenant, *, rng: random.Random, today: dt.date, people: Any) -> None:
    current = period_containing(tenant, day=today, kind="quarter")
    previous = current and period_containing(
        tenant, day=current.start - dt.timedelta(days=1), kind="quarter"
    )
    if current is None or previous is None:
        return
    admin = people.admin
    closed = services.cycle_open(
        tenant,
        actor=admin,
        name=f"{previous.label} review",
        period=previous,
        questions=DEFAULT_QUESTIONS,
    )
    now = timezone.now()
    reviews = list(Review.objects.filter(tenant=tenant, cycle=closed))
    for review in reviews:
        review.self_answers = {
            "results": rng.randint(2, 5),
            "wins": "Closed my biggest deal.",
            "growth": "Better discovery.",
        }
        review.manager_answers = {
            "results": rng.randint(2, 5),
            "wins": "Strong finish.",
            "growth": "Negotiation.",
        }
        review.overall_rating = rng.randint(2, 5)
        review.self_submitted_at = review.manager_submitted_at = review.acknowledged_at = now
    Review.objects.bulk_update(
        reviews,
        [
            "self_answers",
            "manager_answers",
            "overall_rating",
            "self_submitted_at",
            "manager_submitted_at",
            "acknowledged_at",
        ],
    )
    services.cycle_close(tenant, actor=admin, cycle=closed)
    services.cycle_open(
        tenant,
        actor=admin,
        name=f"{current.label} review",
        period=current,
        questions=DEFAULT_QUESTIONS,
    )


def _kudos(tenant: Tenant, *, rng: random.Random, people: Any) -> None:
    everyone = [
        people.admin,
        people.top_manager,
        *people.managers,
        *[r for r in people.reps if r.is_active],
    ]
    rows = []
    for _ in range(12):
        giver, recipient = rng.sample(everyone, 2)
        rows.append(
            Recognition(
                tenant=tenant,
                giver=giver,
                recipient=recipient,
                kind=RecognitionKind.KUDOS,
                message=rng.choice(KUDOS),
            )
        )
    Recognition.objects.bulk_create(rows)


def seed(tenant: Tenant, *, rng: random.Random, today: dt.date, people: Any) -> None:
    upcoming = _history(tenant, rng=rng, today=today, people=people)
    _skills(tenant, rng=rng, today=today, people=people)
    for meeting in upcoming:  # one agenda per rep, from the numbers
        services.agenda_refresh(tenant, meeting=meeting, today=today)
    _reviews(tenant, rng=rng, today=today, people=people)
    _kudos(tenant, rng=rng, people=people)
    services.milestones_recognise(
        tenant, periods=selectors.periods_to_recognise(tenant, today=today)
    )
