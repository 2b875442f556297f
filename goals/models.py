"""The targets people set: quotas, SMART goals and MBO objectives.

Every model is tenant-owned (RLS in the migration). Money is NUMERIC(18,2);
weights and scores are fractions in NUMERIC(9,6) (0.400000 is 40%).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from goals.engine import goal_progress
from spm.models import FiscalPeriod, Membership, Team
from spm.money import MONEY_KWARGS, QUANTITY_KWARGS, RATE_KWARGS
from spm.tenancy.fields import TenantForeignKey
from spm.tenancy.models import TenantModel

__all__ = [
    "Goal",
    "GoalCheckIn",
    "GoalLevel",
    "GoalStatus",
    "Measure",
    "Metric",
    "Objective",
    "ObjectiveScore",
    "Quota",
    "QuotaChange",
    "QuotaSource",
    "SeasonalityProfile",
]


class Measure(models.TextChoices):
    BOOKINGS = "bookings", "Bookings"
    DEAL_COUNT = "deal_count", "Deal count"
    ACTIVITY_COUNT = "activity_count", "Activity count"


class QuotaSource(models.TextChoices):
    MANUAL = "manual", "Entered"
    ALLOCATED = "allocated", "Allocated top-down"
    SPREAD = "spread", "Spread to months"
    IMPORTED = "imported", "Imported from CSV"
    API = "api", "Set through the API"


class Quota(TenantModel):
    """The target amount of one measure for a member or a team in one period.

    ``amount`` is the full-period figure as entered; a member who starts or
    leaves inside the period carries ``amount x active_days / days`` (docs/formulas.md
    section 1, see ``goals.engine.prorate``). A team quota is the top-down
    figure; without one the team's quota is the sum of its reps' quotas.
    """

    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    membership = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="quotas"
    )
    team = TenantForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="quotas"
    )
    measure = models.CharField(max_length=20, choices=Measure.choices, default=Measure.BOOKINGS)
    amount = models.DecimalField(**MONEY_KWARGS)
    source = models.CharField(
        max_length=16, choices=QuotaSource.choices, default=QuotaSource.MANUAL
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["period__start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(membership__isnull=False) & Q(team__isnull=True))
                | (Q(membership__isnull=True) & Q(team__isnull=False)),
                name="quota_one_subject",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_amount_not_negative"),
            models.UniqueConstraint(
                fields=["tenant", "period", "measure", "membership"],
                condition=Q(membership__isnull=False),
                name="quota_unique_member_period",
            ),
            models.UniqueConstraint(
                fields=["tenant", "period", "measure", "team"],
                condition=Q(team__isnull=False),
                name="quota_unique_team_period",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "membership", "period"], name="quota_tenant_member"),
            models.Index(fields=["tenant", "team", "period"], name="quota_tenant_team"),
        ]

    def __str__(self) -> str:
        return f"{self.subject_label} · {self.period_id} · {self.amount}"

    @property
    def subject_key(self) -> str:
        return f"m{self.membership_id}" if self.membership_id else f"t{self.team_id}"

    @property
    def subject_label(self) -> str:
        if self.membership is not None:
            return self.membership.display_name
        return self.team.name if self.team else ""


class QuotaChange(TenantModel):
    """The history of a quota: who changed it, when, from what to what.

    Subject and period are copied so the history outlives a deleted quota.
    ``old_amount`` is null for a creation, ``new_amount`` for a deletion.
    """

    quota = TenantForeignKey(
        Quota, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    membership = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = TenantForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    measure = models.CharField(max_length=20, choices=Measure.choices)
    old_amount = models.DecimalField(**MONEY_KWARGS, null=True, blank=True)
    new_amount = models.DecimalField(**MONEY_KWARGS, null=True, blank=True)
    source = models.CharField(max_length=16, choices=QuotaSource.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "quota", "changed_at"], name="quotachange_tenant_quota"),
            models.Index(fields=["tenant", "period"], name="quotachange_tenant_period"),
        ]


class SeasonalityProfile(TenantModel):
    """Twelve monthly weights (fiscal month 1 first) for spreading a quarter or
    a year to months. Weights are relative: only their ratios matter."""

    name = models.CharField(max_length=80)
    weights = models.JSONField(
        help_text="Twelve non-negative decimal strings, fiscal month 1 first"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="seasonality_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def decimal_weights(self) -> list[Decimal]:
        return [Decimal(str(w)) for w in self.weights]


# SMART goals -------------------------------------------------------------------------


class Metric(models.TextChoices):
    """KPI keys (docs/formulas.md section 3; the KPI engine writes their progress) and manual."""

    BOOKINGS = "bookings", "Bookings"
    ATTAINMENT = "attainment", "Quota attainment (%)"
    WIN_RATE = "win_rate", "Win rate (%)"
    AVERAGE_DEAL_SIZE = "average_deal_size", "Average deal size"
    SALES_CYCLE = "sales_cycle_length", "Sales cycle length (days)"
    WEIGHTED_PIPELINE = "weighted_pipeline", "Weighted pipeline"
    PIPELINE_COVERAGE = "pipeline_coverage", "Pipeline coverage (x)"
    SALES_VELOCITY = "sales_velocity", "Sales velocity (per day)"
    RETENTION_RATE = "retention_rate", "Retention rate (%)"
    DEALS_WON = "deals_won", "Deals won"
    ACTIVITIES = "activities", "Activities"
    MANUAL = "manual", "Manual measure (check-ins)"


PERCENT_METRICS = frozenset({Metric.ATTAINMENT, Metric.WIN_RATE, Metric.RETENTION_RATE})
MONEY_METRICS = frozenset(
    {Metric.BOOKINGS, Metric.AVERAGE_DEAL_SIZE, Metric.WEIGHTED_PIPELINE, Metric.SALES_VELOCITY}
)


class GoalStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    ACHIEVED = "achieved", "Achieved"
    MISSED = "missed", "Missed"


class GoalLevel(models.TextChoices):
    COMPANY = "company", "Company"
    TEAM = "team", "Team"
    MEMBER = "member", "Member"


LEVEL_RANK = {GoalLevel.COMPANY: 0, GoalLevel.TEAM: 1, GoalLevel.MEMBER: 2}


class Goal(TenantModel):
    """A SMART goal of the company, a team or a member.

    Specific (title, description), Measurable (metric, target, baseline),
    Relevant and aligned (rationale, parent goal: company -> team -> member),
    Time-bound (start and due dates). ``progress_value`` is the current value
    of the metric: the KPI engine writes it for KPI metrics, check-ins for
    manual ones.
    """

    level = models.CharField(max_length=8, choices=GoalLevel.choices)
    owner_membership = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="goals"
    )
    owner_team = TenantForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="goals"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    metric = models.CharField(max_length=24, choices=Metric.choices, default=Metric.MANUAL)
    unit = models.CharField(max_length=24, blank=True, help_text="What a manual measure counts")
    baseline_value = models.DecimalField(**QUANTITY_KWARGS, default=Decimal("0"))
    target_value = models.DecimalField(**QUANTITY_KWARGS)
    rationale = models.TextField(help_text="Why it matters")
    parent = TenantForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    start_date = models.DateField()
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=GoalStatus.choices, default=GoalStatus.DRAFT)
    progress_value = models.DecimalField(**QUANTITY_KWARGS, null=True, blank=True)
    progress_updated_at = models.DateTimeField(null=True, blank=True)
    created_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(level="company")
                    & Q(owner_membership__isnull=True)
                    & Q(owner_team__isnull=True)
                )
                | (Q(level="team") & Q(owner_membership__isnull=True) & Q(owner_team__isnull=False))
                | (
                    Q(level="member")
                    & Q(owner_membership__isnull=False)
                    & Q(owner_team__isnull=True)
                ),
                name="goal_owner_matches_level",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("start_date")), name="goal_due_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "owner_membership"], name="goal_tenant_member"),
            models.Index(fields=["tenant", "owner_team"], name="goal_tenant_team"),
            models.Index(fields=["tenant", "parent"], name="goal_tenant_parent"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def owner_label(self) -> str:
        if self.level == GoalLevel.MEMBER and self.owner_membership is not None:
            return self.owner_membership.display_name
        if self.level == GoalLevel.TEAM and self.owner_team is not None:
            return self.owner_team.name
        return "Company"

    @property
    def is_kpi(self) -> bool:
        return self.metric != Metric.MANUAL

    @property
    def progress(self) -> Decimal | None:
        return goal_progress(
            current=self.progress_value, target=self.target_value, baseline=self.baseline_value
        )

    @property
    def progress_percent(self) -> int:
        """The progress bar's width, 0-100."""
        fraction = self.progress
        if fraction is None:
            return 0
        return int(min(Decimal(1), max(Decimal(0), fraction)) * 100)


class GoalCheckIn(TenantModel):
    """A dated update on a goal: the measured value (manual goals) and a comment."""

    goal = TenantForeignKey(Goal, on_delete=models.CASCADE, related_name="checkins")
    author = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_on = models.DateField()
    value = models.DecimalField(**QUANTITY_KWARGS, null=True, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-checked_on", "-id"]
        indexes = [
            models.Index(fields=["tenant", "goal", "checked_on"], name="checkin_tenant_goal")
        ]


# MBO objectives ----------------------------------------------------------------------


class Objective(TenantModel):
    """One MBO objective of a member for a period. The weights of a member's
    objectives in a period add up to exactly 1 (100%) before any is scored."""

    # Set by the selectors that load a member's objectives with their latest score.
    current_score: Decimal | None
    current_score_row: Any

    membership = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="objectives")
    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    weight = models.DecimalField(**RATE_KWARGS)
    score_cap = models.DecimalField(
        **RATE_KWARGS,
        default=Decimal("1"),
        help_text="Highest score allowed (1 = 100%; up to 2 = 200%)",
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["membership_id", "period_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gt=0) & Q(weight__lte=1), name="objective_weight_range"
            ),
            models.CheckConstraint(
                condition=Q(score_cap__gte=1) & Q(score_cap__lte=2), name="objective_cap_range"
            ),
            models.UniqueConstraint(
                fields=["tenant", "membership", "period", "title"], name="objective_unique_title"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "period", "membership"], name="objective_tenant_period"),
        ]

    def __str__(self) -> str:
        return self.title


class ObjectiveScore(TenantModel):
    """The manager's score of one objective (a fraction: 0.8 is 80%)."""

    objective = TenantForeignKey(Objective, on_delete=models.CASCADE, related_name="scores")
    score = models.DecimalField(**RATE_KWARGS)
    comment = models.TextField(blank=True)
    scored_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scored_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["objective_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=10), name="objectivescore_range"
            ),
            models.UniqueConstraint(fields=["tenant", "objective"], name="objectivescore_unique"),
        ]
