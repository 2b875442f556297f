"""The sales data every other pillar measures: pipelines and stages, accounts,
deals with their credit splits and stage history, leads through the AIDA
funnel, activities, and CSV import batches.

Number formats (docs/architecture.md, "Money"):
- money is ``NUMERIC(18,2)`` (``MONEY_KWARGS``);
- probabilities and split shares are percentages ``NUMERIC(5,2)`` from 0.00 to
  100.00 (``PERCENT_KWARGS``): people enter "60" for 60 %, and split shares must add
  up to exactly 100.00;
- exchange rates are ``NUMERIC(9,6)`` (``RATE_KWARGS``).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from spm.models import FiscalPeriod, Membership, TaskRun
from spm.money import FIGURE_KWARGS, MONEY_KWARGS, PERCENT_KWARGS, RATE_KWARGS, round_half_up
from spm.tenancy.fields import TenantForeignKey
from spm.tenancy.models import TenantModel

HUNDRED = Decimal("100.00")

# A deal's amount stays under a trillion so that the KPI sums (NUMERIC(28,10))
# hold a million such deals in one period (README, API: amounts).
DEAL_AMOUNT_MAX = Decimal("999999999999.99")
percent_validators = [MinValueValidator(Decimal("0")), MaxValueValidator(HUNDRED)]
currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD.")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"
    OMITTED = "omitted", "Omitted"


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class DealType(models.TextChoices):
    NEW_BUSINESS = "new_business", "New business"
    EXPANSION = "expansion", "Expansion"
    RENEWAL = "renewal", "Renewal"


class AidaStage(models.TextChoices):
    AWARENESS = "awareness", "Awareness"
    INTEREST = "interest", "Interest"
    DECISION = "decision", "Decision"
    ACTION = "action", "Action"


AIDA_ORDER = [AidaStage.AWARENESS, AidaStage.INTEREST, AidaStage.DECISION, AidaStage.ACTION]
AIDA_DATE_FIELD = {stage: f"{stage.value}_on" for stage in AIDA_ORDER}


class ActivityKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    DEMO = "demo", "Demo"


class ChangeSource(models.TextChoices):
    PAGE = "page", "Page"
    BOARD = "board", "Board"
    API = "api", "API"
    SYNC = "sync", "API bulk sync"
    IMPORT = "import", "CSV import"
    DEMO = "demo", "Demo data"


class Pipeline(TenantModel):
    """A sales process, e.g. New Business or Renewals, with its ordered stages."""

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="pipeline_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(TenantModel):
    """A step of a pipeline. Retired stages keep their deals and history but
    take no new deals; a stage that has ever held a deal cannot be deleted."""

    pipeline = TenantForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    probability = models.DecimalField(
        **PERCENT_KWARGS,
        default=Decimal("0"),
        validators=percent_validators,
        help_text="Default win probability in percent (0-100).",
    )
    forecast_category = models.CharField(
        max_length=16, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pipeline_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "pipeline", "name"], name="stage_unique_name"
            ),
            models.CheckConstraint(
                condition=~(Q(is_won=True) & Q(is_lost=True)), name="stage_not_won_and_lost"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "pipeline", "position"], name="stage_tenant_order")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status(self) -> str:
        if self.is_won:
            return DealStatus.WON
        if self.is_lost:
            return DealStatus.LOST
        return DealStatus.OPEN


class Account(TenantModel):
    """A customer or prospect company."""

    name = models.CharField(max_length=200)
    segment = models.CharField(max_length=60, blank=True)
    industry = models.CharField(max_length=80, blank=True)
    owner = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_accounts"
    )
    customer_since = models.DateField(null=True, blank=True)
    churned_on = models.DateField(null=True, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="account_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(churned_on__isnull=True)
                | Q(customer_since__isnull=True)
                | Q(churned_on__gte=models.F("customer_since")),
                name="account_churn_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "name"], name="account_tenant_name"),
            models.Index(fields=["tenant", "updated_at"], name="account_tenant_updated"),
        ]

    def __str__(self) -> str:
        return self.name


class Deal(TenantModel):
    """An opportunity moving through a pipeline.

    ``status`` and ``close_date`` follow the stage (a won stage wins the deal);
    ``base_amount`` is ``amount`` in the tenant's currency (``amount`` x
    ``exchange_rate``), and every credit is computed from it.
    """

    name = models.CharField(max_length=200)
    account = TenantForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    owner = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="owned_deals")
    amount = models.DecimalField(
        **MONEY_KWARGS,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(DEAL_AMOUNT_MAX)],
    )
    currency = models.CharField(max_length=3, validators=[currency_validator])
    exchange_rate = models.DecimalField(
        **RATE_KWARGS,
        default=Decimal("1"),
        help_text="Units of tenant currency per unit of the deal's currency.",
    )
    base_amount = models.DecimalField(**MONEY_KWARGS, editable=False)
    pipeline = TenantForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = TenantForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    probability = models.DecimalField(**PERCENT_KWARGS, validators=percent_validators)
    forecast_category = models.CharField(max_length=16, choices=ForecastCategory.choices)
    expected_close_date = models.DateField()
    status = models.CharField(max_length=8, choices=DealStatus.choices, default=DealStatus.OPEN)
    close_date = models.DateField(null=True, blank=True)
    lost_reason = models.CharField(max_length=200, blank=True)
    deal_type = models.CharField(
        max_length=16, choices=DealType.choices, default=DealType.NEW_BUSINESS
    )
    product_line = models.CharField(max_length=80, blank=True)
    source = models.CharField(max_length=80, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    custom_splits = models.BooleanField(
        default=False, help_text="False: one split, 100% to the owner, that follows the owner."
    )
    created_on = models.DateField(help_text="The business date the deal was opened.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expected_close_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="deal_unique_external_id"
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(close_date__isnull=True))
                | (~Q(status="open") & Q(close_date__isnull=False)),
                name="deal_close_date_iff_closed",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "close_date"], name="deal_tenant_status_close"
            ),
            models.Index(fields=["tenant", "owner", "status"], name="deal_tenant_owner_status"),
            models.Index(fields=["tenant", "stage"], name="deal_tenant_stage"),
            models.Index(fields=["tenant", "expected_close_date"], name="deal_tenant_expected"),
            models.Index(fields=["tenant", "updated_at"], name="deal_tenant_updated"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        # Money rounds half-up to cents (the default Decimal context would round half-even).
        return round_half_up(self.base_amount * self.probability / HUNDRED)


class DealSplit(TenantModel):
    """A member's share of a deal's credit, with the credited amount stored in
    the tenant's currency (docs/formulas.md section 2) so credits sum in SQL."""

    deal = TenantForeignKey(Deal, on_delete=models.CASCADE, related_name="splits")
    member = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="deal_splits")
    percent = models.DecimalField(**PERCENT_KWARGS, validators=percent_validators)
    credited_amount = models.DecimalField(**MONEY_KWARGS)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["deal_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "deal", "member"], name="dealsplit_unique_member"
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100), name="dealsplit_percent_range"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "member"], name="dealsplit_tenant_member")]

    def __str__(self) -> str:
        return f"{self.member} {self.percent}%"


class StageChange(TenantModel):
    """One move of a deal between stages (``from_stage`` is empty for the
    stage a deal was created in). Written by the services whatever the entry
    point, so time in stage, conversion and cycle length can be measured."""

    deal = TenantForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = TenantForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = TenantForeignKey(Stage, on_delete=models.PROTECT, related_name="stage_entries")
    changed_at = models.DateTimeField()
    changed_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=8, choices=ChangeSource.choices)

    class Meta:
        ordering = ["deal_id", "changed_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "deal", "changed_at"], name="stagechange_tenant_deal"),
            models.Index(fields=["tenant", "to_stage", "changed_at"], name="stagechange_tenant_to"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '-'} -> {self.to_stage}"


class Lead(TenantModel):
    """A buyer in the AIDA funnel, with the date each stage was reached."""

    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    stage = models.CharField(max_length=10, choices=AidaStage.choices, default=AidaStage.AWARENESS)
    awareness_on = models.DateField()
    interest_on = models.DateField(null=True, blank=True)
    decision_on = models.DateField(null=True, blank=True)
    action_on = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=80, blank=True)
    campaign = models.CharField(max_length=120, blank=True)
    owner = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_leads"
    )
    account = TenantForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    converted_deal = TenantForeignKey(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="source_leads"
    )
    external_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-awareness_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="lead_unique_external_id"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "awareness_on"], name="lead_tenant_awareness"),
            models.Index(fields=["tenant", "owner"], name="lead_tenant_owner"),
            models.Index(fields=["tenant", "updated_at"], name="lead_tenant_updated"),
        ]

    def __str__(self) -> str:
        return self.name


class Activity(TenantModel):
    """A call, email, meeting or demo logged by a member against a deal, a lead
    or an account."""

    kind = models.CharField(max_length=8, choices=ActivityKind.choices)
    subject = models.CharField(max_length=200, blank=True)
    occurred_on = models.DateField()
    member = TenantForeignKey(Membership, on_delete=models.PROTECT, related_name="activities")
    outcome = models.CharField(max_length=120, blank=True)
    deal = TenantForeignKey(
        Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    lead = TenantForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    account = TenantForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    external_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"], name="activity_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(deal__isnull=False) | Q(lead__isnull=False) | Q(account__isnull=False),
                name="activity_has_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "member", "occurred_on"], name="activity_tenant_member"),
            models.Index(fields=["tenant", "deal"], name="activity_tenant_deal"),
            models.Index(fields=["tenant", "updated_at"], name="activity_tenant_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", "Accounts"
    DEALS = "deals", "Deals"
    LEADS = "leads", "Leads"
    ACTIVITIES = "activities", "Activities"


class ImportBatch(TenantModel):
    """An uploaded CSV file, its header mapping, and the run that imports it."""

    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    filename = models.CharField(max_length=255)
    content = models.TextField()
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="field name -> CSV header")
    all_or_nothing = models.BooleanField(default=True)
    run = TenantForeignKey(
        TaskRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["tenant", "created_at"], name="importbatch_tenant_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.filename}"


class ExchangeRate(TenantModel):
    """The tenant's rate table: units of the tenant's currency per unit of
    ``currency`` for one fiscal month. A deal in another currency saved without
    an explicit rate takes the rate of the month of its expected close date
    (its close date once won)."""

    currency = models.CharField(max_length=3, validators=[currency_validator])
    period = TenantForeignKey(
        FiscalPeriod,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "month"},
    )
    rate = models.DecimalField(
        **RATE_KWARGS,
        validators=[MinValueValidator(Decimal("0.000001"))],
        help_text="Units of tenant currency per unit of this currency.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency", "period__start"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "currency", "period"], name="exchangerate_unique_month"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.period}: {self.rate}"


# Forecasting (docs/formulas.md section 7; docs/architecture.md, "Forecasting") ----------


class CategoryChange(TenantModel):
    """One change of a deal's forecast category (``from_category`` is empty
    for the category a deal was created with), written by the services
    whatever the entry point, like the stage history."""

    deal = TenantForeignKey(Deal, on_delete=models.CASCADE, related_name="category_changes")
    from_category = models.CharField(max_length=16, choices=ForecastCategory.choices, blank=True)
    to_category = models.CharField(max_length=16, choices=ForecastCategory.choices)
    changed_at = models.DateTimeField()
    changed_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=8, choices=ChangeSource.choices)

    class Meta:
        ordering = ["deal_id", "changed_at", "id"]
        indexes = [
            models.Index(
                fields=["tenant", "deal", "changed_at"], name="categorychange_tenant_deal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_category or '-'} -> {self.to_category}"


class ForecastCall(TenantModel):
    """One submission of a member's call for a period; resubmissions add rows,
    the latest (``submitted_at``, then id) is the current one.

    ``rollup`` is what the call starts from when submitted: a rep's closed +
    commit, a manager's sum of their direct reports' calls. ``adjustment`` is
    the member's own change to it and ``amount`` the call (rollup +
    adjustment): a manager's submitted figure is ``rollup``, the adjusted one
    ``amount``."""

    period = TenantForeignKey(FiscalPeriod, on_delete=models.PROTECT, related_name="+")
    member = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="forecast_calls")
    rollup = models.DecimalField(**MONEY_KWARGS)
    adjustment = models.DecimalField(**MONEY_KWARGS)
    amount = models.DecimalField(**MONEY_KWARGS)
    note = models.TextField(blank=True)
    submitted_at = models.DateTimeField()
    submitted_by = TenantForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["period_id", "member_id", "-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="forecastcall_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount=models.F("rollup") + models.F("adjustment")),
                name="forecastcall_amount_is_rollup_plus_adjustment",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "period", "member", "submitted_at"],
                name="forecastcall_tenant_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.period}: {self.amount}"


class SnapshotCategory(models.TextChoices):
    """Where a deal stood in a weekly snapshot: won (closed), lost, or open by category."""

    CLOSED = "closed", "Closed won"
    COMMIT = "commit", "Commit"
    BEST_CASE = "best_case", "Best case"
    PIPELINE = "pipeline", "Pipeline"
    OMITTED = "omitted", "Omitted"
    LOST = "lost", "Closed lost"


class ForecastSnapshot(TenantModel):
    """A deal of a period as it stood on a snapshot day (taken weekly): the
    trend and the week-over-week waterfall compare these rows."""

    period = TenantForeignKey(FiscalPeriod, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    deal = TenantForeignKey(Deal, on_delete=models.CASCADE, related_name="+")
    owner = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=16, choices=SnapshotCategory.choices)
    amount = models.DecimalField(**MONEY_KWARGS)
    weighted = models.DecimalField(**MONEY_KWARGS)

    class Meta:
        ordering = ["period_id", "day", "deal_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period", "day", "deal"], name="forecastsnapshot_unique_deal"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "period", "day", "owner"], name="forecastsnapshot_owner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.deal_id} {self.category} {self.amount}"


class SubjectKind(models.TextChoices):
    MEMBER = "member", "Member"
    TEAM = "team", "Team"
    COMPANY = "company", "Company"


class StatForecast(TenantModel):
    """The statistical forecast of one subject (a member, a team's subtree, the
    company with subject id 0) for a period: bookings already closed, the
    expected bookings of its open deals and of deals not yet created, and the
    simulated percentiles of the total (docs/formulas.md section 7)."""

    period = TenantForeignKey(FiscalPeriod, on_delete=models.CASCADE, related_name="+")
    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    closed = models.DecimalField(**MONEY_KWARGS)
    open_expected = models.DecimalField(**MONEY_KWARGS)
    new_expected = models.DecimalField(**MONEY_KWARGS)
    expected = models.DecimalField(**MONEY_KWARGS)
    p10 = models.DecimalField(**MONEY_KWARGS)
    p50 = models.DecimalField(**MONEY_KWARGS)
    p90 = models.DecimalField(**MONEY_KWARGS)
    as_of = models.DateField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["period_id", "subject_kind", "subject_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period", "subject_kind", "subject_id"],
                name="statforecast_unique_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_kind} {self.subject_id} {self.period_id}: {self.expected}"


class ForecastFit(TenantModel):
    """The statistical forecast's estimates for a period as of a day (rates by
    stage, age in stage, size band and owner; the new-deal rates), kept so a
    deal's change is scored again without reading the history."""

    period = TenantForeignKey(FiscalPeriod, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField()
    params = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["period_id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "period"], name="forecastfit_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.period_id} as of {self.as_of}"


class DealOdds(TenantModel):
    """An open deal's probability to close won within the period, as the
    statistical forecast estimated it, with what moved it: the tenant's
    average, then each factor's effect in probability (stage, age in stage,
    size band, owner), so the page can name the top factors."""

    period = TenantForeignKey(FiscalPeriod, on_delete=models.CASCADE, related_name="+")
    deal = TenantForeignKey(Deal, on_delete=models.CASCADE, related_name="+")
    owner = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    probability = models.DecimalField(**RATE_KWARGS)
    amount = models.DecimalField(**MONEY_KWARGS)
    expected = models.DecimalField(**MONEY_KWARGS)
    base_rate = models.DecimalField(**RATE_KWARGS)
    stage_effect = models.DecimalField(**RATE_KWARGS)
    age_effect = models.DecimalField(**RATE_KWARGS)
    size_effect = models.DecimalField(**RATE_KWARGS)
    owner_effect = models.DecimalField(**RATE_KWARGS)
    age_days = models.PositiveIntegerField()
    size_band = models.PositiveSmallIntegerField()
    horizon_days = models.PositiveIntegerField()

    class Meta:
        ordering = ["period_id", "-expected", "deal_id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "period", "deal"], name="dealodds_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "period", "owner"], name="dealodds_owner")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.probability}"


class AccuracyMethod(models.TextChoices):
    REP_CALL = "rep_call", "Rep call"
    MANAGER_CALL = "manager_call", "Manager call"
    WEIGHTED = "weighted", "Weighted pipeline"
    STATISTICAL = "statistical", "Statistical forecast"


class AsOfPoint(models.TextChoices):
    START = "start", "Start"
    WEEK_4 = "week_4", "Week 4"
    WEEK_8 = "week_8", "Week 8"
    LAST_WEEK = "last_week", "One week before the end"


class ForecastAccuracy(TenantModel):
    """How one method's forecast of a past period, made as of a point in it,
    compared with the actual bookings of one subject (docs/formulas.md
    section 7). Written by the backtest; ``accuracy`` and ``bias`` are empty
    when the subject booked nothing."""

    period = TenantForeignKey(FiscalPeriod, on_delete=models.CASCADE, related_name="+")
    point = models.CharField(max_length=10, choices=AsOfPoint.choices)
    as_of = models.DateField()
    method = models.CharField(max_length=12, choices=AccuracyMethod.choices)
    subject_kind = models.CharField(max_length=8, choices=SubjectKind.choices)
    subject_id = models.BigIntegerField()
    forecast = models.DecimalField(**MONEY_KWARGS)
    actual = models.DecimalField(**MONEY_KWARGS)
    accuracy = models.DecimalField(**FIGURE_KWARGS, null=True)
    bias = models.DecimalField(**FIGURE_KWARGS, null=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["period_id", "point", "subject_kind", "subject_id", "method"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period", "point", "method", "subject_kind", "subject_id"],
                name="forecastaccuracy_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.subject_kind} {self.subject_id}: {self.accuracy}"
