"""Plans, assignments, credits, calculation runs and statements.

Every model is tenant-owned (RLS in the migration). A plan version stores its
document (``incentives.document``) and one ``Component`` row per component;
a version used by a published statement is locked and never changes again.
Statement lines are a ledger: a closed period's lines are refused on UPDATE
and DELETE by a database trigger (migration) as well as by the services.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from pipeline.models import currency_validator
from spm.models import FiscalPeriod, Membership, TaskRun
from spm.money import MONEY_KWARGS, RATE_KWARGS
from spm.tenancy.fields import TenantForeignKey
from spm.tenancy.models import TenantModel


class Plan(TenantModel):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="plan_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"


class PlanVersion(TenantModel):
    """One effective-dated version of a plan, as its validated document."""

    plan = TenantForeignKey(Plan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=VersionStatus.choices)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    document = models.JSONField(help_text="The plan document, as validated")
    golden_results = models.JSONField(
        default=list, blank=True, help_text="Each example: name, passed, description"
    )
    locked_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a published statement used this version"
    )
    created_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "plan", "number"], name="planversion_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="planversion_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.number}"


class Component(TenantModel):
    """A component of a plan version (its part of the document, by position)."""

    version = TenantForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="components")
    position = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=40)
    label = models.CharField(max_length=120)
    measure = models.CharField(max_length=20)
    config = models.JSONField()

    class Meta:
        ordering = ["version_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "version", "key"], name="component_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Assignment(TenantModel):
    """A member on a plan version for a date range, with a target incentive.

    The target incentive is for a full plan year; the engine prorates it by
    the member's active days in the period. Two assignments of one member
    never overlap (``assignment_create`` refuses it). ``payout_currency`` is
    the currency the member is paid in (blank: the tenant's); the run converts
    each line at the exchange-rate table's rate (docs/formulas.md,
    "Currencies")."""

    membership = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    version = TenantForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="assignments")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    target_incentive = models.DecimalField(**MONEY_KWARGS, default=Decimal("0.00"))
    payout_currency = models.CharField(
        max_length=3,
        blank=True,
        validators=[currency_validator],
        help_text="ISO 4217 code the member is paid in; blank: the tenant's currency",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["membership_id", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="assignment_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(target_incentive__gte=0), name="assignment_target_incentive_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "membership", "start_date"], name="assignment_member"),
        ]


class CreditRole(models.TextChoices):
    DIRECT = "direct", "Direct"
    SPLIT = "split", "Split"
    OVERLAY = "overlay", "Overlay"


class Credit(TenantModel):
    """Credit of a won deal to one recipient (docs/formulas.md, "Crediting").

    Derived from pipeline's splits by ``credits_refresh``: direct (the owner,
    100%) or split (the split's credited amount, adding up to the deal), and
    overlay once per deal for each manager up the team tree of a recipient.
    ``deal_id`` is kept without a database foreign key: a deleted deal's
    credits go with the next refresh, while published lines keep the id."""

    deal_id = models.BigIntegerField()
    recipient = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=8, choices=CreditRole.choices)
    amount = models.DecimalField(**MONEY_KWARGS)
    credit_date = models.DateField()

    class Meta:
        ordering = ["credit_date", "deal_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "deal_id", "recipient", "role"], name="credit_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "credit_date"], name="credit_date"),
        ]


class CalcRun(TenantModel):
    """A calculation run of one period: a preview until finance publishes it."""

    class Status(models.TextChoices):
        PREVIEW = "preview", "Preview"
        PUBLISHED = "published", "Published"
        SUPERSEDED = "superseded", "Superseded"

    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEW)
    task_run = TenantForeignKey(
        TaskRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inputs_hash = models.CharField(max_length=64, blank=True)
    output_hash = models.CharField(max_length=64, blank=True)
    lines_written = models.PositiveIntegerField(default=0)
    created_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period"],
                condition=Q(status="published"),
                name="calcrun_one_published_per_period",
            ),
        ]


class Statement(TenantModel):
    """One member's statement of one period, written by a run.

    ``total`` (the sum of its lines' ``amount``) is in ``currency``, the
    member's payout currency; ``draw_owed`` is in the tenant's currency."""

    run = TenantForeignKey(CalcRun, on_delete=models.CASCADE, related_name="statements")
    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    membership = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    version = TenantForeignKey(
        PlanVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    currency = models.CharField(max_length=3, validators=[currency_validator])
    total = models.DecimalField(**MONEY_KWARGS)
    draw_owed = models.DecimalField(**MONEY_KWARGS, default=Decimal("0.00"))

    class Meta:
        ordering = ["period_id", "membership_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "run", "membership"], name="statement_unique_member"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "membership", "period"], name="statement_member"),
        ]


class StatementLine(TenantModel):
    """One line of a statement with the arithmetic that produced it.

    ``period`` repeats the statement's so that the database trigger can refuse
    changes to a closed period's lines without a join. ``base_amount`` is the
    line in the tenant's currency (what the engine computes and pays the
    difference of); ``amount`` is what it pays in the statement's currency,
    ``base_amount / fx_rate`` rounded half-up, with ``fx_rate`` the units of
    tenant currency per unit of payout currency it used (1 when they are the
    same)."""

    # A run writes tens of thousands of lines at once: no single-column
    # indexes (the primary key, (tenant, statement, position) and
    # statementline_period lead with the tenant, as every query does) and no
    # database key to the period, which is the statement's (keyed) period
    # (one deferred check a row fewer; a period with statements is protected
    # by theirs).
    tenant = models.ForeignKey(
        "spm.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    statement = TenantForeignKey(
        Statement, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    period = TenantForeignKey(
        FiscalPeriod,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    position = models.PositiveIntegerField()
    component = models.CharField(max_length=40)
    kind = models.CharField(max_length=16)
    window = models.CharField(max_length=24)
    line_key = models.CharField(max_length=200)
    deal_id = models.BigIntegerField(null=True, blank=True)
    credit_id = models.BigIntegerField(null=True, blank=True)
    credit_date = models.DateField(null=True, blank=True)
    credit_amount = models.DecimalField(**MONEY_KWARGS, null=True, blank=True)
    band = models.SmallIntegerField(null=True, blank=True)
    base = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    rate = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    base_amount = models.DecimalField(**MONEY_KWARGS)
    fx_rate = models.DecimalField(**RATE_KWARGS, default=Decimal("1"))
    amount = models.DecimalField(**MONEY_KWARGS)
    explanation = models.TextField()

    class Meta:
        ordering = ["statement_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "statement", "position"], name="statementline_unique_position"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "period"], name="statementline_period"),
        ]


class Adjustment(TenantModel):
    """A manual adjustment by an admin or finance, with its reason."""

    membership = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY_KWARGS)
    reason = models.CharField(max_length=500)
    created_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["period_id", "membership_id", "id"]
        indexes = [
            models.Index(fields=["tenant", "period"], name="adjustment_period"),
        ]


# Incentives II: acknowledgements, disputes, notifications, approvals, plan
# acceptance and payroll exports (README, "Statements reps trust").


class AckState(models.TextChoices):
    PENDING = "pending", "Published"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    DISPUTED = "disputed", "Disputed"
    AUTO_ACCEPTED = "auto_accepted", "Auto-accepted"


class Acknowledgement(TenantModel):
    """A published statement's answer from its member, within the dispute window.

    Created when the statement is published; ``window_closes_at`` is the
    publication time plus the tenant's dispute window. Unanswered when the
    window closes, it is auto-accepted by the beat job."""

    statement = TenantForeignKey(Statement, on_delete=models.CASCADE, related_name="+")
    membership = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=AckState.choices, default=AckState.PENDING)
    published_at = models.DateTimeField()
    window_closes_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "membership_id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "statement"], name="ack_unique_statement"),
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "window_closes_at"], name="ack_due"),
        ]


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    REJECTED = "rejected", "Rejected"


class Dispute(TenantModel):
    """A member's dispute of a published statement or of one of its lines.

    Resolved by finance with an adjustment (posted by the engine in the
    statement's period when it is still open, else the next open one) or
    rejected with an answer. The attachment is kept in the database (behind
    row-level security like the rest)."""

    statement = TenantForeignKey(Statement, on_delete=models.PROTECT, related_name="+")
    line = TenantForeignKey(
        StatementLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    membership = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    attachment_name = models.CharField(max_length=200, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    attachment = models.BinaryField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    answer = models.TextField(blank=True)
    adjustment = TenantForeignKey(
        Adjustment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "status", "created_at"], name="dispute_queue"),
        ]


class DisputeStep(TenantModel):
    """One step of a dispute (opened, comment, resolved, rejected), who and when."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        COMMENT = "comment", "Comment"
        RESOLVED = "resolved", "Resolved"
        REJECTED = "rejected", "Rejected"

    dispute = TenantForeignKey(Dispute, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dispute_id", "created_at", "id"]


class NotificationKind(models.TextChoices):
    STATEMENT_PUBLISHED = "statement_published", "A statement of mine is published"
    STATEMENT_AUTO_ACCEPTED = "statement_auto_accepted", "A statement of mine was auto-accepted"
    DISPUTE_OPENED = "dispute_opened", "A dispute is opened (managers and finance)"
    DISPUTE_STEP = "dispute_step", "A dispute of mine moves on (comment, resolved, rejected)"
    APPROVAL_REQUESTED = "approval_requested", "An approval is requested from me"
    APPROVAL_DECIDED = "approval_decided", "An approval I requested is decided"
    PLAN_ASSIGNED = "plan_assigned", "I am assigned a plan to accept"


class Notification(TenantModel):
    """An in-app notification with a link; emailed unless the member opted out."""

    recipient = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300)
    emailed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "recipient", "created_at"], name="notification_inbox"),
        ]


class NotificationPreference(TenantModel):
    """A member's choice for one kind of notification: email or in-app only."""

    membership = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    email = models.BooleanField(default=True)

    class Meta:
        ordering = ["membership_id", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "membership", "kind"], name="notificationpref_unique"
            ),
        ]


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Approval(TenantModel):
    """A request to publish a run (finance approves) or to activate a draft
    plan version (an admin approves), decided by another member of the
    deciding role than the requester where the tenant has one
    (``incentives.services.approvals``)."""

    class Kind(models.TextChoices):
        RUN_PUBLISH = "run_publish", "Publish a run's statements"
        VERSION_ACTIVATE = "version_activate", "Activate a plan version"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    run = TenantForeignKey(
        CalcRun, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    version = TenantForeignKey(
        PlanVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    requested_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="The requester's note")
    answer = models.TextField(blank=True, help_text="The decider's note (required to reject)")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="run_publish") & Q(run__isnull=False) & Q(version__isnull=True))
                | (Q(kind="version_activate") & Q(version__isnull=False) & Q(run__isnull=True)),
                name="approval_subject_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["tenant", "run"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_run",
            ),
            models.UniqueConstraint(
                fields=["tenant", "version"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_version",
            ),
        ]


class PlanAcceptance(TenantModel):
    """A member's acceptance of the plan they are assigned, with its date
    (``incentives.services.plans.plan_accept``)."""

    assignment = TenantForeignKey(Assignment, on_delete=models.CASCADE, related_name="+")
    membership = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "assignment"], name="planacceptance_unique_assignment"
            ),
        ]


class PayrollExport(TenantModel):
    """One payroll export of a pay period: what was exported, by whom, when.

    Its lines are what payroll pays; a later export of the same period holds
    only the differences since (never the same amount twice)."""

    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveSmallIntegerField()
    created_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    line_count = models.PositiveIntegerField(default=0)
    totals = models.JSONField(
        default=list,
        blank=True,
        help_text='One total per currency: [{"currency": "EUR", "amount": "2600.00"}], '
        "by currency code; amounts in different currencies are never added up",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period", "sequence"], name="payrollexport_unique_sequence"
            ),
        ]


class PayrollLine(TenantModel):
    """One exported amount: a member's statement line key (the line's identity
    across runs) in a period, marked paid by this export."""

    export = TenantForeignKey(PayrollExport, on_delete=models.CASCADE, related_name="lines")
    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    membership = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    employee_id = models.CharField(max_length=64, blank=True)
    line_key = models.CharField(max_length=200)
    component = models.CharField(max_length=40)
    kind = models.CharField(max_length=16)
    earning_code = models.CharField(max_length=20)
    statement_line_id = models.BigIntegerField(null=True, blank=True)
    amount = models.DecimalField(**MONEY_KWARGS)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["export_id", "membership_id", "line_key"]
        indexes = [
            models.Index(fields=["tenant", "period", "membership"], name="payrollline_paid"),
        ]
