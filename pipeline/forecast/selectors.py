"""Reads of forecasting: each member's figures by category for a period,
current calls, and the roll-up of calls through the team tree
(docs/formulas.md section 7).

Figures are the deals a member owns: closed is won with a close date in the
period; commit, best case, pipeline and omitted are the open deals expected
to close in it, by category. A manager's row adds their direct reports'
subtree figures to their own deals. One SQL aggregate per period, one query
for the calls, two for the tree, whatever the number of deals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from pipeline.forecast.forecast import SIZE_LABELS
from pipeline.models import (
    Deal,
    DealOdds,
    DealStatus,
    ForecastCall,
    ForecastCategory,
    StatForecast,
)
from spm.models import FiscalPeriod, Membership, Tenant

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Figures:
    """Amounts (tenant currency) of one subject's deals in a period."""

    closed: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    omitted: Decimal = ZERO
    weighted: Decimal = ZERO

    @property
    def default_call(self) -> Decimal:
        """A rep's call before they change it: closed + commit."""
        return self.closed + self.commit

    @property
    def open_pipeline(self) -> Decimal:
        """Open deals expected in the period that count (omitted do not)."""
        return self.commit + self.best_case + self.pipeline

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            closed=self.closed + other.closed,
            commit=self.commit + other.commit,
            best_case=self.best_case + other.best_case,
            pipeline=self.pipeline + other.pipeline,
            omitted=self.omitted + other.omitted,
            weighted=self.weighted + other.weighted,
        )


FIGURES_SQL = """
SELECT d.owner_id,
       COALESCE(SUM(d.base_amount) FILTER (
           WHERE d.status = %(won)s AND d.close_date BETWEEN %(start)s AND %(end)s), 0),
       COALESCE(SUM(d.base_amount) FILTER (WHERE d.status = %(open)s
           AND d.forecast_category = %(commit)s), 0),
       COALESCE(SUM(d.base_amount) FILTER (WHERE d.status = %(open)s
           AND d.forecast_category = %(best_case)s), 0),
       COALESCE(SUM(d.base_amount) FILTER (WHERE d.status = %(open)s
           AND d.forecast_category = %(pipeline)s), 0),
       COALESCE(SUM(d.base_amount) FILTER (WHERE d.status = %(open)s
           AND d.forecast_category = %(omitted)s), 0),
       COALESCE(SUM(ROUND(d.base_amount * d.probability / 100, 2)) FILTER (
           WHERE d.status = %(open)s AND d.forecast_category <> %(omitted)s), 0)
FROM pipeline_deal d
WHERE d.tenant_id = %(tenant)s
  AND ((d.status = %(won)s AND d.close_date BETWEEN %(start)s AND %(end)s)
       OR (d.status = %(open)s AND d.expected_close_date BETWEEN %(start)s AND %(end)s))
  {owner_filter}
GROUP BY d.owner_id
"""


def forecast_figures(
    tenant: Tenant, *, period: FiscalPeriod, member_ids: Iterable[int] | None = None
) -> dict[int, Figures]:
    """Each owner's own figures in ``period`` (one query); owners without a
    deal in the period are absent. ``member_ids`` narrows to those owners."""
    params: dict[str, Any] = {
        "tenant": tenant.pk,
        "start": period.start,
        "end": period.end,
        "won": DealStatus.WON,
        "open": DealStatus.OPEN,
        "commit": ForecastCategory.COMMIT,
        "best_case": ForecastCategory.BEST_CASE,
        "pipeline": ForecastCategory.PIPELINE,
        "omitted": ForecastCategory.OMITTED,
    }
    owner_filter = ""
    if member_ids is not None:
        params["owners"] = sorted(set(member_ids))
        owner_filter = "AND d.owner_id = ANY(%(owners)s)"
    with connection.cursor() as cursor:
        cursor.execute(FIGURES_SQL.format(owner_filter=owner_filter), params)
        return {
            row[0]: Figures(*(Decimal(value).quantize(ZERO) for value in row[1:]))
            for row in cursor.fetchall()
        }


def forecast_call_history(
    tenant: Tenant, *, period: FiscalPeriod | None = None, member_ids: Iterable[int] | None = None
) -> QuerySet[ForecastCall]:
    """Every submission, newest first per member."""
    calls = ForecastCall.objects.filter(tenant=tenant).select_related(
        "period", "member__user", "submitted_by__user"
    )
    if period is not None:
        calls = calls.filter(period=period)
    if member_ids is not None:
        calls = calls.filter(member_id__in=list(member_ids))
    return calls.order_by("period_id", "member_id", "-submitted_at", "-id")


def forecast_calls_current(
    tenant: Tenant, *, period: FiscalPeriod, member_ids: Iterable[int] | None = None
) -> dict[int, ForecastCall]:
    """Each member's latest submission for ``period`` (one query);
    ``member_ids`` narrows to those members."""
    calls = ForecastCall.objects.filter(tenant=tenant, period=period)
    if member_ids is not None:
        calls = calls.filter(member_id__in=sorted(set(member_ids)))
    latest = calls.order_by("member_id", "-submitted_at", "-id").distinct("member_id")
    return {call.member_id: call for call in latest}


@dataclass(frozen=True)
class Tree:
    """Who reports to whom: a member's direct reports are the other members of
    the teams they manage (``spm.selectors.direct_reports``)."""

    members: dict[int, Membership]
    reports: dict[int, list[int]]

    @property
    def roots(self) -> list[int]:
        """Members who report to nobody (the top of the company's roll-up)."""
        reporting = {pk for ids in self.reports.values() for pk in ids}
        return [pk for pk in self.members if pk not in reporting]

    def subtree(self, pk: int) -> list[int]:
        """``pk`` and everyone below them, top down."""
        order, stack, seen = [], [pk], set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            order.append(current)
            stack.extend(reversed(self.reports.get(current, [])))
        return order


def forecast_tree(tenant: Tenant, *, under: int | None = None) -> Tree:
    """The reporting tree of the tenant's active members (two queries);
    ``under``: only that member's subtree (empty when they are not an active
    member), whose members alone are loaded."""
    active = list(
        Membership.objects.filter(tenant=tenant, is_active=True)
        .order_by("user__last_name", "user__first_name", "id")
        .values_list("id", "team__manager_id")
    )
    ids = {pk for pk, _ in active}
    reports: dict[int, list[int]] = defaultdict(list)
    for pk, manager_id in active:
        if manager_id is not None and manager_id != pk and manager_id in ids:
            reports[manager_id].append(pk)
    wanted = [pk for pk, _ in active]
    if under is not None:
        below = set(Tree({}, reports).subtree(under)) if under in ids else set()
        wanted = [pk for pk in wanted if pk in below]
        reports = {pk: direct for pk, direct in reports.items() if pk in below}
    loaded = Membership.objects.filter(tenant=tenant, pk__in=wanted).select_related("user", "team")
    by_id = {m.pk: m for m in loaded}
    return Tree(members={pk: by_id[pk] for pk in wanted}, reports=dict(reports))


@dataclass
class RollupRow:
    """One member's line of the roll-up: subtree figures, the live roll-up of
    their reports' calls, their adjustment, the call, and their latest
    submission (None when they have not submitted)."""

    member: Membership
    figures: Figures
    own: Figures
    rollup: Decimal
    adjustment: Decimal
    call: Decimal
    submitted: ForecastCall | None
    has_reports: bool
    reports: list[RollupRow] = field(default_factory=list)


@dataclass(frozen=True)
class Rollup:
    """The roll-up of one period: a row per member, and the company's totals
    (the sum over the members who report to nobody)."""

    period: FiscalPeriod
    rows: dict[int, RollupRow]
    company: Figures
    company_call: Decimal
    roots: list[int]

    def row(self, pk: int) -> RollupRow:
        return self.rows[pk]


def forecast_rollup(
    tenant: Tenant, *, period: FiscalPeriod, tree: Tree | None = None, under: int | None = None
) -> Rollup:
    """Calls rolled up through the tree (docs/formulas.md section 7): a rep's
    call is their latest submission, else closed + commit; a manager's is the
    sum of their direct reports' calls plus their own latest adjustment. Four
    queries (figures, calls, tree).

    ``under``: only that member's subtree (a member of ``tree``): their row
    and the rows below it, whose figures are those of the whole roll-up (a
    row depends only on its subtree); the totals are then theirs."""
    tree = tree or forecast_tree(tenant)
    subtree = tree.subtree(under) if under is not None else None
    own = forecast_figures(tenant, period=period, member_ids=subtree)
    current = forecast_calls_current(tenant, period=period, member_ids=subtree)
    rows: dict[int, RollupRow] = {}

    def build(pk: int, path: frozenset[int]) -> RollupRow:
        if pk in rows:
            return rows[pk]
        member = tree.members[pk]
        mine = own.get(pk, Figures())
        reports = [
            build(child, path | {pk}) for child in tree.reports.get(pk, []) if child not in path
        ]
        submitted = current.get(pk)
        figures = sum((r.figures for r in reports), mine)
        if reports:
            rollup = sum((r.call for r in reports), mine.default_call)
            adjustment = submitted.adjustment if submitted else ZERO
            call = rollup + adjustment
        else:
            rollup = mine.default_call
            call = submitted.amount if submitted else rollup
            adjustment = call - rollup
        row = RollupRow(member, figures, mine, rollup, adjustment, call, submitted, bool(reports))
        row.reports = reports
        rows[pk] = row
        return row

    roots = tree.roots if under is None else [under]
    for pk in roots:
        build(pk, frozenset())
    for pk in tree.members if under is None else ():
        build(pk, frozenset())
    company = sum((rows[pk].figures for pk in roots), Figures())
    company_call = sum((rows[pk].call for pk in roots), ZERO)
    return Rollup(period, rows, company, company_call, roots)


def forecast_deals(tenant: Tenant, *, period: FiscalPeriod, owner_id: int) -> QuerySet[Deal]:
    """A member's deals that count in ``period``: won in it and open expected
    in it, by category then amount (one query)."""
    return (
        Deal.objects.filter(tenant=tenant, owner_id=owner_id)
        .filter(
            Q(status=DealStatus.WON, close_date__range=(period.start, period.end))
            | Q(status=DealStatus.OPEN, expected_close_date__range=(period.start, period.end))
        )
        .select_related("stage", "account")
        .order_by("status", "forecast_category", "-base_amount", "id")
    )


@dataclass(frozen=True)
class Factor:
    """One reason a deal's probability differs from the tenant's average:
    what it is and its effect (a fraction: 0.12 is 12 percentage points)."""

    label: str
    effect: Decimal


def odds_factors(odds: DealOdds, *, stage_name: str, top: int = 3) -> list[Factor]:
    """The ``top`` factors of a deal's probability, largest effect first."""
    factors = [
        Factor(f"Stage {stage_name}", odds.stage_effect),
        Factor(f"{odds.age_days} days in stage", odds.age_effect),
        Factor(f"Size: {SIZE_LABELS[min(odds.size_band, 3)]} of deals", odds.size_effect),
        Factor("Owner's past conversion", odds.owner_effect),
    ]
    return sorted(factors, key=lambda f: abs(f.effect), reverse=True)[:top]


def deal_odds_for(
    tenant: Tenant, *, period: FiscalPeriod, owner_ids: Iterable[int] | None = None
) -> QuerySet[DealOdds]:
    """The statistical forecast's open deals of ``period``, most expected first."""
    odds = DealOdds.objects.filter(tenant=tenant, period=period).select_related(
        "deal__stage", "owner__user"
    )
    if owner_ids is not None:
        odds = odds.filter(owner_id__in=list(owner_ids))
    return odds.order_by("-expected", "deal_id")


def stat_forecast_for(
    tenant: Tenant, *, period: FiscalPeriod, kind: str, subject_id: int
) -> StatForecast | None:
    """One subject's statistical forecast of ``period`` (None before the first run)."""
    return StatForecast.objects.filter(
        tenant=tenant, period=period, subject_kind=kind, subject_id=subject_id
    ).first()
