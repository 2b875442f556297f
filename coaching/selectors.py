"""Reads of the coaching pillar. Who sees which record comes from
``spm.reach.Reach``: ``coaching()`` for the records of a member,
``private_notes()`` for a manager's private notes, the whole tenant for
recognition and the skills framework."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum

from coaching.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Assessment,
    DevelopmentItem,
    Meeting,
    MeetingStatus,
    PracticeLog,
    PracticeRating,
    PrivateNote,
    Recognition,
    Review,
    ReviewCycle,
    Series,
    Skill,
    TrainingAssignment,
)
from goals.selectors import objective_sets
from kpis.definitions import BY_KEY, LOWER, KpiDef
from kpis.models import KpiValue, SubjectKind
from kpis.selectors import values_of
from spm.models import FiscalPeriod, Membership, PeriodKind, Tenant
from spm.reach import Reach


def series_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[Series]:
    return Series.objects.filter(reach.coaching("member", manager="manager"), tenant=tenant)


def meetings_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[Meeting]:
    return Meeting.objects.filter(reach.coaching("member", manager="manager"), tenant=tenant)


def agenda_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[AgendaItem]:
    return AgendaItem.objects.filter(
        reach.coaching("meeting__member", manager="meeting__manager"), tenant=tenant
    )


def private_notes_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[PrivateNote]:
    return PrivateNote.objects.filter(reach.private_notes(), tenant=tenant)


def actions_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[ActionItem]:
    return ActionItem.objects.filter(reach.coaching("member") | Q(owner_id=reach.pk), tenant=tenant)


def assessments_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[Assessment]:
    return Assessment.objects.filter(reach.coaching("member"), tenant=tenant)


def development_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[DevelopmentItem]:
    return DevelopmentItem.objects.filter(reach.coaching("member"), tenant=tenant)


def training_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[TrainingAssignment]:
    return TrainingAssignment.objects.filter(reach.coaching("member"), tenant=tenant)


def practice_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[PracticeLog]:
    return PracticeLog.objects.filter(reach.coaching("member"), tenant=tenant)


def practice_ratings_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[PracticeRating]:
    return PracticeRating.objects.filter(reach.coaching("log__member"), tenant=tenant)


def reviews_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[Review]:
    return Review.objects.filter(reach.coaching("member", manager="manager"), tenant=tenant)


def recognition_feed(tenant: Tenant) -> QuerySet[Recognition]:
    """Kudos and milestones of the whole tenant, newest first (everyone reads the feed)."""
    return (
        Recognition.objects.filter(tenant=tenant)
        .select_related("recipient__user", "giver__user", "period", "goal")
        .order_by("-created_at", "-id")
    )


def skills_of(tenant: Tenant, *, active_only: bool = True) -> list[Skill]:
    qs = Skill.objects.filter(tenant=tenant)
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("position", "name"))


# Pages ----------------------------------------------------------------------------------


@dataclass
class MyMeetings:
    upcoming: list[Meeting]
    past: list[Meeting]


def my_meetings(tenant: Tenant, *, member: Membership, limit: int = 50) -> MyMeetings:
    """The 1:1s ``member`` takes part in (as manager or member): the scheduled
    ones soonest first, the held and cancelled ones latest first. Two queries."""
    mine = (
        Meeting.objects.filter(Q(manager=member) | Q(member=member), tenant=tenant)
        .select_related("manager__user", "member__user")
        .annotate(
            items=Count("agenda", filter=Q(agenda__tenant=tenant)),
        )
    )
    upcoming = list(
        mine.filter(status=MeetingStatus.SCHEDULED).order_by("scheduled_at", "id")[:limit]
    )
    past = list(
        mine.exclude(status=MeetingStatus.SCHEDULED).order_by("-scheduled_at", "-id")[:limit]
    )
    return MyMeetings(upcoming=upcoming, past=past)


def overdue_actions(
    tenant: Tenant, *, member: Membership, today: dt.date, limit: int = 10
) -> list[ActionItem]:
    """Open action items of ``member`` (as member or owner) past their due day."""
    return list(
        ActionItem.objects.filter(
            Q(member=member) | Q(owner=member),
            tenant=tenant,
            status=ActionStatus.OPEN,
            due_on__lt=today,
        )
        .select_related("deal", "goal", "skill")
        .order_by("due_on", "id")[:limit]
    )


@dataclass
class OverviewRow:
    member: Membership
    last_at: dt.datetime | None = None
    next_at: dt.datetime | None = None
    next_meeting_id: int | None = None
    overdue: int = 0
    gaps: list[str] = field(default_factory=list)


def _latest_levels(tenant: Tenant, *, member_ids: list[int]) -> dict[tuple[int, int, str], int]:
    """(member, skill, kind) -> the latest level assessed (one query)."""
    rows = (
        Assessment.objects.filter(tenant=tenant, member_id__in=member_ids)
        .order_by("member_id", "skill_id", "kind", "-assessed_on", "-id")
        .distinct("member_id", "skill_id", "kind")
        .values_list("member_id", "skill_id", "kind", "level")
    )
    return {(m, s, k): level for m, s, k, level in rows}


def team_overview(
    tenant: Tenant, *, reach: Reach, today: dt.date, gap_below: int = 3
) -> list[OverviewRow]:
    """For each person the viewer manages: their last held and next scheduled
    1:1 (with anyone coaching them), their overdue action items and the
    skills their manager assessed below ``gap_below``. Five queries."""
    people = list(
        Membership.objects.filter(reach.coaching(""), tenant=tenant, is_active=True)
        .exclude(pk=reach.pk)
        .select_related("user", "team")
        .order_by("user__last_name", "user__first_name", "id")
    )
    ids = [p.pk for p in people]
    rows = {p.pk: OverviewRow(member=p) for p in people}
    held = (
        Meeting.objects.filter(tenant=tenant, member_id__in=ids, status=MeetingStatus.HELD)
        .values("member_id")
        .annotate(last=Max("scheduled_at"))
    )
    for row in held:
        rows[row["member_id"]].last_at = row["last"]
    upcoming = (
        Meeting.objects.filter(tenant=tenant, member_id__in=ids, status=MeetingStatus.SCHEDULED)
        .order_by("member_id", "scheduled_at", "id")
        .distinct("member_id")
        .values_list("member_id", "scheduled_at", "id")
    )
    for member_id, at, meeting_id in upcoming:
        rows[member_id].next_at, rows[member_id].next_meeting_id = at, meeting_id
    overdue = (
        ActionItem.objects.filter(
            tenant=tenant, member_id__in=ids, status=ActionStatus.OPEN, due_on__lt=today
        )
        .values("member_id")
        .annotate(n=Count("id"))
    )
    for row in overdue:
        rows[row["member_id"]].overdue = row["n"]
    skills = {s.pk: s.name for s in skills_of(tenant)}
    for (member_id, skill_id, kind), level in sorted(
        _latest_levels(tenant, member_ids=ids).items()
    ):
        if kind == "manager" and level < gap_below and skill_id in skills:
            rows[member_id].gaps.append(skills[skill_id])
    return list(rows.values())


def meetings_between(tenant: Tenant, *, start: dt.datetime, end: dt.datetime) -> list[Meeting]:
    """Scheduled meetings from ``start`` to before ``end``, with their people."""
    return list(
        Meeting.objects.filter(
            tenant=tenant,
            status=MeetingStatus.SCHEDULED,
            scheduled_at__gte=start,
            scheduled_at__lt=end,
        ).select_related("manager__user", "member__user")
    )


def meeting_window(tenant: Tenant, *, start: dt.datetime, end: dt.datetime) -> QuerySet[Meeting]:
    """Scheduled meetings between ``start`` and ``end`` not yet reminded."""
    return Meeting.objects.filter(
        tenant=tenant,
        status=MeetingStatus.SCHEDULED,
        scheduled_at__gte=start,
        scheduled_at__lt=end,
        reminded_at__isnull=True,
    ).select_related("manager__user", "member__user")


# Skills ---------------------------------------------------------------------------------


@dataclass
class SkillLine:
    skill: Skill
    self_level: int | None = None
    manager_level: int | None = None
    first_self: int | None = None
    first_manager: int | None = None
    practice_count: int = 0
    practice_average: float | None = None
    training_count: int = 0
    training_done: int = 0


@dataclass
class SkillProfile:
    member: Membership
    lines: list[SkillLine]
    practice_logs: int
    trainings: list[TrainingAssignment]
    development: list[DevelopmentItem]
    history: list[Assessment]
    first_on: dt.date | None = None
    last_on: dt.date | None = None


def skill_profile(tenant: Tenant, *, member: Membership) -> SkillProfile:
    """``member``'s skills: per skill the latest and the first self and manager
    levels (the radar compares them over time), practice ratings and training
    counts; their trainings, development plan and assessment history. Six queries."""
    skills = skills_of(tenant)
    lines = {s.pk: SkillLine(skill=s) for s in skills}
    history = list(
        Assessment.objects.filter(tenant=tenant, member=member)
        .select_related("skill", "assessor__user")
        .order_by("assessed_on", "id")
    )
    for a in history:
        line = lines.get(a.skill_id)
        if line is None:
            continue
        if a.kind == "self":
            line.first_self = line.first_self if line.first_self is not None else a.level
            line.self_level = a.level
        else:
            line.first_manager = line.first_manager if line.first_manager is not None else a.level
            line.manager_level = a.level
    ratings = (
        PracticeRating.objects.filter(tenant=tenant, log__member=member)
        .values("skill_id")
        .annotate(n=Count("id"), total=Sum("rating"))
    )
    for row in ratings:
        line = lines.get(row["skill_id"])
        if line is not None:
            line.practice_count = row["n"]
            line.practice_average = row["total"] / row["n"]
    trainings = list(
        TrainingAssignment.objects.filter(tenant=tenant, member=member)
        .select_related("skill")
        .order_by("completed_on", "due_on", "id")
    )
    for t in trainings:
        line = lines.get(t.skill_id) if t.skill_id else None
        if line is not None:
            line.training_count += 1
            line.training_done += t.completed_on is not None
    return SkillProfile(
        member=member,
        lines=list(lines.values()),
        practice_logs=PracticeLog.objects.filter(tenant=tenant, member=member).count(),
        trainings=trainings,
        development=list(
            DevelopmentItem.objects.filter(tenant=tenant, member=member)
            .select_related("skill", "action", "training")
            .order_by("skill__position", "id")
        ),
        history=history,
        first_on=history[0].assessed_on if history else None,
        last_on=history[-1].assessed_on if history else None,
    )


# Recognition ----------------------------------------------------------------------------


def recognitions_of(tenant: Tenant, *, member: Membership) -> list[Recognition]:
    """What ``member`` was recognised for, newest first."""
    return list(
        Recognition.objects.filter(tenant=tenant, recipient=member)
        .select_related("giver__user", "period", "goal")
        .order_by("-created_at", "-id")
    )


def periods_to_recognise(tenant: Tenant, *, today: dt.date) -> list[FiscalPeriod]:
    """The quarters and years under way on ``today`` and those closed."""
    return list(
        FiscalPeriod.objects.filter(
            Q(start__lte=today, end__gte=today) | Q(is_closed=True),
            tenant=tenant,
            kind__in=[PeriodKind.QUARTER, PeriodKind.YEAR],
        )
    )


# Reviews --------------------------------------------------------------------------------

REVIEW_KPIS = ["bookings", "quota", "attainment", "win_rate", "deals_won", "activities"]


@dataclass
class ReviewNumbers:
    """A member's figures of the cycle's period beside their review."""

    kpis: dict[str, Decimal | None]
    mbo_score: Decimal | None


@dataclass
class ReviewSides:
    """What the viewer may read of one review: each side's answers once both
    are submitted, and their own side before that."""

    review: Review
    self_answers: dict[str, Any] | None
    manager_answers: dict[str, Any] | None
    overall_rating: int | None


def review_sides(review: Review, *, viewer: Membership) -> ReviewSides:
    both = review.both_submitted
    is_member = viewer.pk == review.member_id
    show_self = both or is_member
    show_manager = both or not is_member
    return ReviewSides(
        review=review,
        self_answers=review.self_answers if show_self and review.self_submitted_at else None,
        manager_answers=(
            review.manager_answers if show_manager and review.manager_submitted_at else None
        ),
        overall_rating=review.overall_rating if show_manager else None,
    )


def review_numbers(
    tenant: Tenant, *, viewer: Membership, period: FiscalPeriod, member_ids: list[int]
) -> dict[int, ReviewNumbers]:
    """Member id -> the period's KPIs and MBO score (three queries)."""
    kpis = values_of(
        tenant, period=period, kind=SubjectKind.MEMBER, subject_ids=member_ids, kpis=REVIEW_KPIS
    )
    scores = {
        s.membership.pk: s.score
        for s in objective_sets(tenant, viewer=viewer, period=period)
        if s.membership.pk in member_ids
    }
    return {pk: ReviewNumbers(kpis=kpis.get(pk, {}), mbo_score=scores.get(pk)) for pk in member_ids}


@dataclass
class CalibrationRow:
    sides: ReviewSides
    numbers: ReviewNumbers


def calibration(tenant: Tenant, *, reach: Reach, cycle: ReviewCycle) -> list[CalibrationRow]:
    """The cycle's reviews the viewer reaches (a manager's or VP's subtree,
    every review for admins) side by side with the numbers, best attainment first."""
    reviews = list(
        reviews_visible(tenant, reach=reach)
        .filter(cycle=cycle)
        .exclude(member_id=reach.pk)
        .select_related("member__user", "member__team", "manager__user", "cycle")
    )
    numbers = review_numbers(
        tenant,
        viewer=reach.membership,
        period=cycle.period,
        member_ids=[r.member_id for r in reviews],
    )
    rows = [
        CalibrationRow(sides=review_sides(r, viewer=reach.membership), numbers=numbers[r.member_id])
        for r in reviews
    ]
    return sorted(
        rows,
        key=lambda row: (
            row.numbers.kpis.get("attainment") is None,
            -(row.numbers.kpis.get("attainment") or 0),
            row.sides.review.member.display_name,
        ),
    )


# Benchmarking ---------------------------------------------------------------------------

BENCHMARK_KPIS = [
    "bookings",
    "attainment",
    "win_rate",
    "average_deal_size",
    "sales_cycle_length",
    "deals_won",
    "activities",
]


@dataclass(frozen=True)
class BenchmarkRow:
    """One KPI of a rep beside their team's median and the company's top
    quartile (the 75th percentile of the reps, the 25th where lower is better)."""

    kpi: KpiDef
    value: Decimal | None
    team_median: Decimal | None
    top_quartile: Decimal | None


def _percentile(values: list[Decimal], share: float) -> Decimal | None:
    """The ``share`` percentile of ``values`` with linear interpolation (the
    method of PostgreSQL's ``percentile_cont``)."""
    if not values:
        return None
    ordered = sorted(values)
    position = Decimal(str(share)) * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def benchmark(tenant: Tenant, *, member: Membership, period: FiscalPeriod) -> list[BenchmarkRow]:
    """``member``'s KPIs of ``period`` beside the median of the reps of their
    team and the company's top quartile of reps (docs/formulas.md,
    "Coaching: benchmarking"). Two queries, whatever the number of reps."""
    reps = dict(Membership.objects.filter(tenant=tenant, role="rep").values_list("pk", "team_id"))
    rows = KpiValue.objects.filter(
        tenant=tenant,
        period=period,
        subject_kind=SubjectKind.MEMBER,
        kpi__in=BENCHMARK_KPIS,
        value__isnull=False,
    ).values_list("subject_id", "kpi", "value")
    own: dict[str, Decimal] = {}
    team: dict[str, list[Decimal]] = defaultdict(list)
    company: dict[str, list[Decimal]] = defaultdict(list)
    for subject_id, kpi, value in rows:
        if subject_id == member.pk:
            own[kpi] = value
        if subject_id not in reps:
            continue
        company[kpi].append(value)
        if member.team_id is not None and reps[subject_id] == member.team_id:
            team[kpi].append(value)
    out = []
    for key in BENCHMARK_KPIS:
        definition = BY_KEY[key]
        top = 0.25 if definition.direction == LOWER else 0.75
        out.append(
            BenchmarkRow(
                kpi=definition,
                value=own.get(key),
                team_median=_percentile(team[key], 0.5),
                top_quartile=_percentile(company[key], top),
            )
        )
    return out
