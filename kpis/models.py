"""KPI snapshots, the queue of periods to recompute, per-tenant KPI settings
and custom formula KPIs. Every model is tenant-owned (RLS in the migration).

``KpiValue`` is the snapshot every page and report endpoint reads: one row per
(tenant, period, subject kind, subject id, kpi key), written by the engine as
an upsert over that unique constraint. Money values carry two decimals, ratios
ten (attainment 50,000 / 90,000 = 0.5555555556); ``value`` is null where the
KPI is undefined (attainment with no quota, win rate with nothing closed).
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from kpis.definitions import BUILT_IN, COUNT, DAYS, HIGHER, LOWER, MONEY, NUMBER, RATIO
from spm.models import FiscalPeriod, Team
from spm.money import FIGURE_KWARGS
from spm.roles import Role
from spm.tenancy.fields import TenantForeignKey
from spm.tenancy.models import TenantModel

# A stored figure that may be undefined (attainment with no quota).
FACT_KWARGS: dict[str, Any] = {**FIGURE_KWARGS, "null": True, "blank": True}


class SubjectKind(models.TextChoices):
    MEMBER = "member", "Member"
    TEAM = "team", "Team"
    TENANT = "tenant", "Company"


class KpiValue(TenantModel):
    """A computed KPI value of one subject in one period, with when it was computed.

    ``subject_id`` is a membership id, a team id, or 0 for the tenant.
    """

    # A snapshot is derived data written millions of rows at a time: no
    # single-column indexes on the tenant and the period (the unique
    # constraint leads with both), and no database foreign key to the period
    # (a deferred check per inserted row). The tenant keeps its database
    # foreign key: tenancy is checked by the database too. Period deletes
    # cascade through the ORM.
    tenant = models.ForeignKey(
        "spm.Tenant",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    period = TenantForeignKey(
        FiscalPeriod,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    kpi = models.CharField(max_length=80)
    value = models.DecimalField(**FACT_KWARGS)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["period_id", "subject_kind", "subject_id", "kpi"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period", "subject_kind", "subject_id", "kpi"],
                name="kpivalue_unique_subject",
            ),
        ]
        indexes = [
            # Leaderboards: one KPI of one period across subjects.
            models.Index(fields=["tenant", "period", "kpi", "subject_kind"], name="kpivalue_board"),
            # Time series: one subject's KPI over periods.
            models.Index(
                fields=["tenant", "subject_kind", "subject_id", "kpi", "period"],
                name="kpivalue_series",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} {self.subject_kind}:{self.subject_id} = {self.value}"


class MonthFact(TenantModel):
    """The additive figures of one subject in one calendar month, unrounded:
    the engine's intermediate layer. Quarters and years are sums of their
    months (averages keep sum and count; rounding happens on the period's
    total), so a change to one deal recomputes the facts of its months only
    and re-derives its periods from the stored months.

    Every computed month has a tenant row (subject 0), zeros included: it
    marks the month as computed.
    """

    tenant = models.ForeignKey(
        "spm.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField()
    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    bookings = models.DecimalField(**FACT_KWARGS)
    deals_won = models.IntegerField(default=0)
    deals_lost = models.IntegerField(default=0)
    cycle_days_sum = models.BigIntegerField(default=0)
    open_amount = models.DecimalField(**FACT_KWARGS)
    open_deals = models.IntegerField(default=0)
    weighted = models.DecimalField(**FACT_KWARGS)
    activities = models.IntegerField(default=0)
    calls = models.IntegerField(default=0)
    emails = models.IntegerField(default=0)
    meetings = models.IntegerField(default=0)
    demos = models.IntegerField(default=0)
    leads_awareness = models.IntegerField(default=0)
    leads_interest = models.IntegerField(default=0)
    leads_decision = models.IntegerField(default=0)
    leads_action = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month", "subject_kind", "subject_id"],
                name="monthfact_unique_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.subject_kind}:{self.subject_id}"


class StageFact(TenantModel):
    """Per stage, one subject, one calendar month: open pipeline expected to
    close in the month (raw and weighted, unrounded) and the deals that entered
    the stage in the month with how many later reached the next stage.

    Entries count distinct deals per period: ``entered_quarter`` counts only a
    deal's first entry into the stage within its fiscal quarter (and
    ``entered_year`` within its fiscal year), so a quarter's count is the sum
    of its months' ``entered_quarter``. ``converted_*`` count those of them
    that later reached the next stage (the first entry in a period decides:
    whatever a later entry reached, the first reached too).
    """

    tenant = models.ForeignKey(
        "spm.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField()
    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    stage_id = models.BigIntegerField()
    open_amount = models.DecimalField(**FACT_KWARGS)
    weighted = models.DecimalField(**FACT_KWARGS)
    entered_month = models.IntegerField(default=0)
    converted_month = models.IntegerField(default=0)
    entered_quarter = models.IntegerField(default=0)
    converted_quarter = models.IntegerField(default=0)
    entered_year = models.IntegerField(default=0)
    converted_year = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month", "subject_kind", "subject_id", "stage_id"],
                name="stagefact_unique_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.subject_kind}:{self.subject_id} stage {self.stage_id}"


class DirtyPeriod(TenantModel):
    """A period whose inputs changed since its last recompute (the coalescing
    queue of the on-change recompute: many changes, one row, one run)."""

    period = TenantForeignKey(FiscalPeriod, on_delete=models.CASCADE, related_name="+")
    marked_at = models.DateTimeField()

    class Meta:
        ordering = ["marked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "period"], name="dirtyperiod_unique"),
        ]

    def __str__(self) -> str:
        return f"dirty {self.period_id}"


KPI_CHOICES = [(k.key, k.label) for k in BUILT_IN]
UNIT_CHOICES = [
    (MONEY, "Money"),
    (RATIO, "Percentage"),
    (DAYS, "Days"),
    (COUNT, "Count"),
    (NUMBER, "Number"),
]


class Direction(models.TextChoices):
    HIGHER = HIGHER, "Higher is better"
    LOWER = LOWER, "Lower is better"


class KpiSetting(TenantModel):
    """How a tenant shows one KPI, optionally for one role or one team only.

    Red/amber/green: with higher-is-better, a value at or above ``green_from``
    is green, at or above ``amber_from`` amber, below it red; with
    lower-is-better the comparisons flip. Ratios are entered as fractions of 1
    in the database (0.75) and as percentages on the page. The most specific
    setting wins: team, then role, then the tenant-wide row.
    """

    kpi = models.CharField(max_length=80)
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    team = TenantForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    is_shown = models.BooleanField(default=True)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    target = models.DecimalField(**FACT_KWARGS)
    green_from = models.DecimalField(**FACT_KWARGS)
    amber_from = models.DecimalField(**FACT_KWARGS)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "kpi", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kpi", "role", "team"],
                name="kpisetting_unique_scope",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(green_from__isnull=True)
                | Q(amber_from__isnull=True)
                | (Q(direction=HIGHER) & Q(green_from__gte=models.F("amber_from")))
                | (Q(direction=LOWER) & Q(green_from__lte=models.F("amber_from"))),
                name="kpisetting_thresholds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} ({self.role or 'all roles'}, {self.team_id or 'all teams'})"


class CustomKpi(TenantModel):
    """A KPI defined by a tenant admin as a formula over built-in measures,
    e.g. ``bookings / activities``. Parsed with ``kpis.formula`` (an ``ast``
    whitelist, never ``eval``) and computed by the engine in SQL."""

    key = models.CharField(
        max_length=60,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", "Use lowercase letters, digits and _.")],
    )
    name = models.CharField(max_length=120)
    formula = models.CharField(max_length=500)
    unit = models.CharField(max_length=8, choices=UNIT_CHOICES, default=NUMBER)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="customkpi_unique_key"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def value_key(self) -> str:
        return f"custom:{self.key}"
