"""The core every pillar shares: tenants, people, teams, fiscal periods, runs, audit."""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from zoneinfo import available_timezones

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from spm.formatting import Locale
from spm.roles import Role
from spm.tenancy.fields import TenantForeignKey
from spm.tenancy.models import TenantModel

__all__ = [
    "AuditEvent",
    "FiscalPeriod",
    "Membership",
    "OutboxMessage",
    "PeriodKind",
    "Role",
    "ScheduleClaim",
    "TaskRun",
    "Team",
    "Tenant",
    "User",
]

RESERVED_SLUGS = frozenset(
    {"admin", "api", "accounts", "static", "media", "tenants", "healthz", "favicon.ico", "me"}
)


class SpmUserManager(UserManager):
    def create_user(self, username, email=None, password=None, **extra):  # type: ignore[no-untyped-def,override]
        return super().create_user(username, email or username, password, **extra)


class User(AbstractUser):
    """A person; global across tenants. Logs in with their email address."""

    email = models.EmailField("email address", unique=True)

    objects = SpmUserManager()  # type: ignore[misc]

    def __str__(self) -> str:
        return self.get_full_name() or self.email


def validate_slug_not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(f"'{value}' is reserved; choose another slug.")


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"'{value}' is not a known IANA time zone (e.g. Europe/Berlin).")


class Tenant(models.Model):
    """A company using SPM. The registry of tenants is global (no RLS)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Use lowercase letters, digits and hyphens."),
            validate_slug_not_reserved,
        ],
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD.")],
    )
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    locale = models.CharField(
        "number and date format",
        max_length=5,
        choices=Locale.choices,
        default=Locale.EN_US,
        help_text="How numbers and dates are written (spm.formatting).",
    )
    stalled_after_days = models.PositiveSmallIntegerField(
        "stalled after (days)",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="An open deal with no stage change for this many days is flagged as stalled.",
    )
    dispute_window_days = models.PositiveSmallIntegerField(
        "dispute window (days)",
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="Days a rep has to acknowledge or dispute a published statement; "
        "unanswered, it is accepted automatically.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def fiscal_year_start_month_name(self) -> str:
        return calendar.month_name[self.fiscal_year_start_month]


class Team(TenantModel):
    """A node of the team tree. ``path`` is the materialised path of ids
    ("/1/4/9/"), so a subtree is one indexed prefix match."""

    name = models.CharField(max_length=120)
    parent = TenantForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    manager = TenantForeignKey(
        "spm.Membership",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    path = models.CharField(max_length=512, editable=False, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "parent", "name"], name="team_unique_name", nulls_distinct=False
            ),
        ]
        indexes = [
            # varchar_pattern_ops serves the subtree query `path LIKE '/1/4/%'`.
            models.Index(
                fields=["tenant", "path"],
                name="team_tenant_path",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(TenantModel):
    """A user's place in a tenant: role, title, team, and active dates."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    title = models.CharField(max_length=120, blank=True)
    team = TenantForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    start_date = models.DateField(default=dt.date.today)
    end_date = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    employee_id = models.CharField(
        max_length=64, blank=True, help_text="The member's id in payroll (payroll exports)."
    )

    class Meta:
        ordering = ["user__last_name", "user__first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="membership_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "team"], name="membership_tenant_team")]

    def __str__(self) -> str:
        return str(self.user)

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.email

    def active_on(self, day: dt.date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class FiscalPeriod(TenantModel):
    """A month, quarter or fiscal year of a tenant's calendar (both ends inclusive)."""

    kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    fiscal_year = models.PositiveSmallIntegerField()
    number = models.PositiveSmallIntegerField(
        help_text="1-12 for months, 1-4 for quarters, 1 for the year"
    )
    start = models.DateField()
    end = models.DateField()
    label = models.CharField(max_length=40)
    is_closed = models.BooleanField(default=False)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "fiscal_year", "number"], name="period_unique_number"
            ),
            models.UniqueConstraint(fields=["tenant", "kind", "start"], name="period_unique_start"),
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="period_end_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "kind", "start", "end"], name="period_tenant_range")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class TaskRun(TenantModel):
    """One run of a long job (import, recompute, calculation) with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "kind", "created_at"], name="taskrun_tenant_kind")
        ]

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(self.progress_done * 100 / self.progress_total))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class AuditEvent(TenantModel):
    """Who did what, when: written by services in the same transaction."""

    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_tenant_object"),
            models.Index(fields=["tenant", "created_at"], name="audit_tenant_created"),
        ]


class OutboxMessage(models.Model):
    """A task waiting for the broker, written in the transaction that asked for
    it (docs/architecture.md, "Task outbox").

    Not tenant data: a task name, its JSON ids and where to send it. The relay
    reads every tenant's messages, so the table has no tenant and no RLS; the
    task enters its tenant itself. The id is also the Celery task id, so a
    message sent twice (a relay that dies between send and delete) is the
    same task twice, which tasks tolerate (they are idempotent).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    queue = models.CharField(max_length=200)
    eta = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["created_at"], name="outbox_created")]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"


class ScheduleClaim(models.Model):
    """One scheduled job's effect for one key (a tenant's local date, a UTC
    hour): the first beat tick to insert the row runs the job, a duplicate
    tick (a second beat process, an hour repeated by a daylight-saving
    change) finds it and does nothing. Holds no tenant data: the key names
    the tenant by id, like a task's arguments."""

    job = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "key"], name="schedule_claim_job_key")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.key}"
