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

    statement = TenantForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
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
