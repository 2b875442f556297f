"""Reads of the pipeline pillar that span models, roles or periods.

``won_bookings_by_member`` is the interface the goals app (top-down quota
allocation) and the KPI engine build on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncDate

from pipeline.models import (
    AIDA_ORDER,
    Deal,
    DealSplit,
    DealStatus,
    Lead,
    Pipeline,
    Stage,
    StageChange,
)
from spm.models import Tenant
from spm.money import round_half_up

ZERO = Decimal("0.00")


def won_bookings_by_member(tenant: Tenant, *, start: dt.date, end: dt.date) -> dict[int, Decimal]:
    """Membership id -> credited bookings of deals won with ``close_date`` in
    [start, end] (both inclusive), in the tenant's currency.

    Credits are the stored split amounts (docs/formulas.md section 2: 100 % to the
    owner unless split; split credits add up to the deal amount exactly, the
    residual cent to the largest share). Members with no bookings are absent.
    One query. Call inside the tenant's context.
    """
    rows = (
        DealSplit.objects.filter(
            tenant=tenant,
            deal__status=DealStatus.WON,
            deal__close_date__gte=start,
            deal__close_date__lte=end,
        )
        .values("member_id")
        .annotate(total=Sum("credited_amount"))
        .order_by()
    )
    return {row["member_id"]: row["total"] for row in rows}


def pipelines_with_stages(tenant: Tenant, *, include_retired: bool = True) -> list[Pipeline]:
    """Pipelines in order with their stages prefetched in order (two queries)."""
    stages = Stage.objects.filter(tenant=tenant).order_by("position", "id")
    if not include_retired:
        stages = stages.filter(is_active=True)
    return list(
        Pipeline.objects.filter(tenant=tenant)
        .prefetch_related(Prefetch("stages", queryset=stages))
        .order_by("position", "id")
    )


# Deals needing attention -------------------------------------------------------------


def deals_with_flags(
    qs: QuerySet[Deal], *, today: dt.date, stalled_after_days: int
) -> QuerySet[Deal]:
    """``qs`` annotated with ``last_moved_on`` (the day of the latest stage
    change, else the day the deal was opened) and two flags of open deals:
    ``is_overdue`` (expected close date passed) and ``is_stalled`` (no stage
    change for ``stalled_after_days`` days). One subquery, no extra query."""
    last_change = (
        StageChange.objects.filter(tenant_id=OuterRef("tenant_id"), deal_id=OuterRef("pk"))
        .order_by("-changed_at")
        .values("changed_at")[:1]
    )
    is_open = Q(status=DealStatus.OPEN)
    stale_before = today - dt.timedelta(days=stalled_after_days)
    return qs.annotate(
        last_moved_on=Coalesce(TruncDate(Subquery(last_change)), F("created_on")),
    ).annotate(
        is_overdue=ExpressionWrapper(
            is_open & Q(expected_close_date__lt=today), output_field=BooleanField()
        ),
        is_stalled=ExpressionWrapper(
            is_open & Q(last_moved_on__lt=stale_before), output_field=BooleanField()
        ),
    )


def deals_needing_attention(
    qs: QuerySet[Deal], *, today: dt.date, stalled_after_days: int
) -> QuerySet[Deal]:
    """The open deals of ``qs`` past their expected close date or stalled, the
    longest overdue first (see ``deals_with_flags``)."""
    return (
        deals_with_flags(qs, today=today, stalled_after_days=stalled_after_days)
        .filter(Q(is_overdue=True) | Q(is_stalled=True))
        .select_related("owner__user", "stage", "account")
        .order_by("expected_close_date", "id")
    )


# Board -----------------------------------------------------------------------------


@dataclass
class BoardColumn:
    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    count: int = 0
    total: Decimal = ZERO
    weighted: Decimal = ZERO


def deals_closing_between(qs: QuerySet[Deal], *, start: dt.date, end: dt.date) -> QuerySet[Deal]:
    """Open deals expected to close in [start, end] and closed deals that closed then."""
    return qs.filter(
        Q(status=DealStatus.OPEN, expected_close_date__gte=start, expected_close_date__lte=end)
        | (~Q(status=DealStatus.OPEN) & Q(close_date__gte=start, close_date__lte=end))
    )


def board_columns(
    tenant: Tenant,
    *,
    pipeline: Pipeline,
    deals: QuerySet[Deal],
    movable: Q,
    today: dt.date,
    limit_per_stage: int = 100,
) -> list[BoardColumn]:
    """One column per active stage of ``pipeline`` (and retired stages that
    still hold some of ``deals``) with raw and weighted totals in the tenant's
    currency over every deal of the column (one aggregate query) and the first
    ``limit_per_stage`` cards by expected close date (one windowed query), each
    flagged overdue or stalled as of ``today`` (``deals_with_flags``) and
    ``movable`` where it matches that condition (the viewer may move it)."""
    stages = list(Stage.objects.filter(tenant=tenant, pipeline=pipeline).order_by("position", "id"))
    deals = deals.filter(pipeline=pipeline)
    totals = {
        row["stage_id"]: row
        for row in deals.values("stage_id")
        .annotate(
            n=Count("id"),
            total=Coalesce(Sum("base_amount"), ZERO),
            weighted=Coalesce(Sum(F("base_amount") * F("probability") / 100), ZERO),
        )
        .order_by()
    }
    columns = {s.pk: BoardColumn(stage=s) for s in stages if s.is_active or s.pk in totals}
    cards = (
        deals_with_flags(deals, today=today, stalled_after_days=tenant.stalled_after_days)
        .select_related("owner__user", "account")
        .annotate(
            movable=Case(When(movable, then=Value(True)), default=Value(False)),
            rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("expected_close_date").asc(), F("id").asc()],
            ),
        )
        .filter(rank__lte=limit_per_stage)
        .order_by("stage_id", "expected_close_date", "id")
    )
    for deal in cards:
        column = columns.get(deal.stage_id)
        if column is not None:
            column.deals.append(deal)
    for stage_id, column in columns.items():
        row = totals.get(stage_id)
        if row:
            column.count = row["n"]
            column.total = row["total"]
            column.weighted = round_half_up(Decimal(row["weighted"]))
    return list(columns.values())


# Deal detail -----------------------------------------------------------------------


def deal_timeline(tenant: Tenant, *, deal: Deal) -> list[StageChange]:
    """The deal's stage history, oldest first, with days spent in each stage."""
    changes = list(
        StageChange.objects.filter(tenant=tenant, deal=deal)
        .select_related("from_stage", "to_stage", "changed_by__user")
        .order_by("changed_at", "id")
    )
    for index, change in enumerate(changes):
        following = changes[index + 1].changed_at if index + 1 < len(changes) else None
        change.days_in_stage = (following - change.changed_at).days if following else None  # type: ignore[attr-defined]
    return changes


# Funnel ----------------------------------------------------------------------------


@dataclass
class FunnelStep:
    stage: str
    label: str
    count: int
    conversion_from_previous: Decimal | None  # share of the previous step, 0-1
    conversion_from_top: Decimal | None

    @staticmethod
    def _percent(ratio: Decimal | None) -> Decimal | None:
        return None if ratio is None else round_half_up(ratio * 100, Decimal("0.1"))

    @property
    def percent_from_previous(self) -> Decimal | None:
        return self._percent(self.conversion_from_previous)

    @property
    def percent_from_top(self) -> Decimal | None:
        return self._percent(self.conversion_from_top)


def lead_funnel(
    tenant: Tenant, *, leads: QuerySet[Lead], start: dt.date, end: dt.date
) -> list[FunnelStep]:
    """The AIDA funnel of the leads that entered it (Awareness) in [start, end]:
    per stage, how many reached at least that stage, and the conversion from
    the previous stage and from the top. One aggregate query."""
    cohort = leads.filter(awareness_on__gte=start, awareness_on__lte=end)
    aggregates = {
        stage.value: Count("id", filter=Q(stage__in=[s.value for s in AIDA_ORDER[index:]]))
        for index, stage in enumerate(AIDA_ORDER)
    }
    counts = cohort.aggregate(**aggregates)
    steps: list[FunnelStep] = []
    top = counts[AIDA_ORDER[0].value]
    previous: int | None = None
    for stage in AIDA_ORDER:
        count = counts[stage.value]
        steps.append(
            FunnelStep(
                stage=stage.value,
                label=stage.label,
                count=count,
                conversion_from_previous=(
                    None if previous is None else (Decimal(count) / previous if previous else None)
                ),
                conversion_from_top=Decimal(count) / top if top else None,
            )
        )
        previous = count
    return steps


def stage_entry_days(tenant: Tenant, *, deal_ids: Sequence[int]) -> set[dt.date]:
    """The days (tenant's time zone) on which ``deal_ids`` entered stages, in
    one query."""
    return set(
        StageChange.objects.filter(tenant=tenant, deal_id__in=list(deal_ids))
        .annotate(day=TruncDate("changed_at", tzinfo=ZoneInfo(tenant.time_zone)))
        .values_list("day", flat=True)
        .distinct()
    )
