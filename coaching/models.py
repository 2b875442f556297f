"""1:1s, action items, skills, training and practice, review cycles, recognition.

Every model is tenant-owned (RLS and tenant-led keys in the migration). A
coaching record belongs to one member, its ``member`` (the rep a 1:1 series,
an action item, an assessment or a review is about); who sees it is
``spm.reach.Reach.coaching()``. Private notes follow their author instead
(``Reach.private_notes()``): the rep of the meeting never sees them.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from goals.models import Goal, Objective
from incentives.models import Dispute
from pipeline.models import Deal
from spm.models import FiscalPeriod, Membership
from spm.tenancy.fields import TenantForeignKey
from spm.tenancy.models import TenantModel

DEFAULT_SKILLS = [
    ("Prospecting", "Finds and opens new opportunities."),
    ("Discovery", "Uncovers the customer's needs, pains and decision process."),
    ("Demo", "Shows the product against the needs found in discovery."),
    ("Negotiation", "Trades value for price and terms without giving margin away."),
    ("Closing", "Asks for the business and gets the signature."),
    ("Product knowledge", "Knows the product, its limits and its competitors."),
]

# The questions a new review cycle's form starts from.
DEFAULT_QUESTIONS = [
    {"key": "results", "text": "How did the period go against your numbers?", "kind": "rating"},
    {"key": "wins", "text": "What went well?", "kind": "text"},
    {"key": "growth", "text": "What will you work on next period?", "kind": "text"},
]


class CoachingSettings(TenantModel):
    """The tenant's thresholds for the pre-filled 1:1 agenda and its skill scale.

    A KPI movement enters the agenda when it passes its threshold
    (docs/formulas.md, "Coaching agenda"). Ratios are fractions of 1.
    """

    bookings_change = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        default=Decimal("0.20"),
        help_text="Relative change of bookings since the previous 1:1 (0.20 = 20%)",
    )
    pacing_gap = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        default=Decimal("0.10"),
        help_text="Attainment behind the elapsed share of the period by at least this",
    )
    win_rate_change = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        default=Decimal("0.10"),
        help_text="Change of win rate in points (0.10 = 10 points)",
    )
    cycle_change_days = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        default=Decimal("7"),
        help_text="Change of the sales cycle in days",
    )
    activities_change = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        default=Decimal("0.25"),
        help_text="Relative change of activities since the previous 1:1",
    )
    skill_levels = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(2), MaxValueValidator(10)],
        help_text="Levels of the skill scale (1 to this)",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="coachingsettings_unique_tenant"),
        ]

    def __str__(self) -> str:
        return "Coaching settings"


# 1:1s ----------------------------------------------------------------------------------


class Series(TenantModel):
    """A recurring 1:1 between a manager and one of the people they manage."""

    manager = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    every_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(92)]
    )
    next_at = models.DateTimeField(help_text="When the next meeting is")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["manager_id", "member_id"]
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "manager", "member"], name="series_unique_pair"
            ),
            models.CheckConstraint(
                condition=~Q(manager=models.F("member")), name="series_not_with_self"
            ),
        ]

    def __str__(self) -> str:
        return f"1:1 {self.manager_id} / {self.member_id}"


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


class Meeting(TenantModel):
    """One 1:1 of a series. ``baseline`` keeps the member's KPI values of the
    current quarter when the meeting was held: the next agenda compares with it."""

    series = TenantForeignKey(Series, on_delete=models.CASCADE, related_name="meetings")
    manager = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    scheduled_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED
    )
    shared_notes = models.TextField(blank=True)
    baseline = models.JSONField(default=dict, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    agenda_built_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "series", "scheduled_at"], name="meeting_series"),
            models.Index(fields=["tenant", "member", "scheduled_at"], name="meeting_member"),
        ]

    def __str__(self) -> str:
        return f"1:1 on {self.scheduled_at:%Y-%m-%d}"


class AgendaKind(models.TextChoices):
    TOPIC = "topic", "Topic"
    KPI = "kpi", "KPI movement"
    DEAL = "deal", "Deal"
    GOAL = "goal", "Goal"
    OBJECTIVE = "objective", "Objective"
    ACTION = "action", "Action item"
    DISPUTE = "dispute", "Commission dispute"


class AgendaItem(TenantModel):
    """An item of a meeting's shared agenda: a topic either side added, or one
    the agenda builder found (``added_by`` empty) with what it is about."""

    meeting = TenantForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    kind = models.CharField(max_length=10, choices=AgendaKind.choices, default=AgendaKind.TOPIC)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    kpi = models.CharField(max_length=80, blank=True)
    deal = TenantForeignKey(Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    goal = TenantForeignKey(Goal, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    objective = TenantForeignKey(
        Objective, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    action = TenantForeignKey(
        "ActionItem", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    dispute = TenantForeignKey(
        Dispute, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    added_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_done = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting_id", "position", "id"]
        indexes = [models.Index(fields=["tenant", "meeting", "position"], name="agenda_meeting")]

    def __str__(self) -> str:
        return self.title


class PrivateNote(TenantModel):
    """A manager's note on a meeting that the meeting's member never sees."""

    meeting = TenantForeignKey(Meeting, on_delete=models.CASCADE, related_name="private_notes")
    author = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting_id", "created_at", "id"]
        indexes = [models.Index(fields=["tenant", "meeting"], name="privatenote_meeting")]

    def __str__(self) -> str:
        return f"Private note {self.pk}"


# Skills ---------------------------------------------------------------------------------


class Skill(TenantModel):
    """A sales competency of the tenant's framework (editable)."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="skill_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


# Action items ---------------------------------------------------------------------------


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class ActionItem(TenantModel):
    """Something to do by a date, agreed in a 1:1 (or in a development plan),
    about a deal, a goal or a skill. ``member`` is whose coaching it belongs to;
    ``owner`` does it (the member or their manager)."""

    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    owner = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    meeting = TenantForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    title = models.CharField(max_length=300)
    due_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    deal = TenantForeignKey(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    goal = TenantForeignKey(
        Goal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skill = TenantForeignKey(
        Skill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["tenant", "member", "status", "due_on"], name="action_member"),
        ]

    def __str__(self) -> str:
        return self.title


class AssessmentKind(models.TextChoices):
    SELF = "self", "Self"
    MANAGER = "manager", "Manager"


class Assessment(TenantModel):
    """A member's level in one skill on a day, by themselves or their manager."""

    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    skill = TenantForeignKey(Skill, on_delete=models.CASCADE, related_name="assessments")
    assessor = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=AssessmentKind.choices)
    level = models.PositiveSmallIntegerField()
    assessed_on = models.DateField()
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["member_id", "skill_id", "assessed_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(level__gte=1), name="assessment_level_positive"),
        ]
        indexes = [
            models.Index(fields=["tenant", "member", "assessed_on"], name="assessment_member"),
        ]


class TrainingAssignment(TenantModel):
    """A course or material assigned to a member, with its due and completion dates."""

    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    link = models.URLField(blank=True, max_length=500)
    due_on = models.DateField()
    completed_on = models.DateField(null=True, blank=True)
    skill = TenantForeignKey(
        Skill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["tenant", "member", "due_on"], name="training_member")]

    def __str__(self) -> str:
        return self.title


class DevelopmentItem(TenantModel):
    """A line of a member's development plan: a skill to grow, with the action
    item and the training that serve it."""

    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    skill = TenantForeignKey(Skill, on_delete=models.CASCADE, related_name="+")
    target_level = models.PositiveSmallIntegerField()
    note = models.TextField(blank=True)
    action = TenantForeignKey(
        ActionItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    training = TenantForeignKey(
        TrainingAssignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["member_id", "skill_id", "id"]
        indexes = [models.Index(fields=["tenant", "member"], name="development_member")]


class PracticeLog(TenantModel):
    """A practice or role-play session: the scenario, who played the customer,
    a rating per skill (``PracticeRating``) and feedback."""

    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    scenario = models.CharField(max_length=300)
    customer_played_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    practiced_on = models.DateField()
    feedback = models.TextField(blank=True)
    logged_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-practiced_on", "-id"]
        indexes = [
            models.Index(fields=["tenant", "member", "practiced_on"], name="practice_member")
        ]

    def __str__(self) -> str:
        return self.scenario


class PracticeRating(TenantModel):
    log = TenantForeignKey(PracticeLog, on_delete=models.CASCADE, related_name="ratings")
    skill = TenantForeignKey(Skill, on_delete=models.CASCADE, related_name="+")
    rating = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["log_id", "skill_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "log", "skill"], name="practicerating_unique_skill"
            ),
        ]


# Review cycles --------------------------------------------------------------------------


class CycleStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class ReviewCycle(TenantModel):
    """A review round for one period: the template's questions (``questions``,
    each ``{"key", "text", "kind": "rating" | "text"}``) and its rating scale."""

    name = models.CharField(max_length=200)
    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    questions = models.JSONField()
    rating_scale = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(2), MaxValueValidator(10)]
    )
    status = models.CharField(max_length=8, choices=CycleStatus.choices, default=CycleStatus.OPEN)
    opened_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="reviewcycle_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Review(TenantModel):
    """One member's review in a cycle: their self review, their manager's
    review and proposed overall rating, and their acknowledgement."""

    cycle = TenantForeignKey(ReviewCycle, on_delete=models.CASCADE, related_name="reviews")
    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    manager = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    self_answers = models.JSONField(default=dict, blank=True)
    self_submitted_at = models.DateTimeField(null=True, blank=True)
    manager_answers = models.JSONField(default=dict, blank=True)
    manager_submitted_at = models.DateTimeField(null=True, blank=True)
    overall_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cycle_id", "member_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "cycle", "member"], name="review_unique_member"
            ),
        ]

    def __str__(self) -> str:
        return f"Review {self.cycle_id}/{self.member_id}"

    @property
    def both_submitted(self) -> bool:
        return self.self_submitted_at is not None and self.manager_submitted_at is not None


# Recognition ----------------------------------------------------------------------------


class RecognitionKind(models.TextChoices):
    KUDOS = "kudos", "Kudos"
    QUOTA = "quota", "100% of quota"
    TOP3 = "top3", "Top 3 on the leaderboard"
    GOAL = "goal", "Goal achieved"


class Recognition(TenantModel):
    """Kudos from one member to another, or a milestone the app recognised
    (``giver`` empty, ``milestone`` the key that makes it happen once)."""

    recipient = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    giver = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=RecognitionKind.choices)
    message = models.CharField(max_length=500)
    period = TenantForeignKey(
        FiscalPeriod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    goal = TenantForeignKey(
        Goal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    milestone = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "recipient", "milestone"],
                condition=~Q(milestone=""),
                name="recognition_unique_milestone",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "recipient", "created_at"], name="recognition_member"),
        ]

    def __str__(self) -> str:
        return self.message


class NotificationPreference(TenantModel):
    """Which coaching emails a member wants (each on unless they turn it off)."""

    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    meeting_reminders = models.BooleanField(default=True)
    review_steps = models.BooleanField(default=True)
    kudos_received = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "member"], name="coaching_notificationpref_unique"
            ),
        ]
