"""Reads for calculation runs: one query per input frame for a whole period."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from goals.models import Measure, Objective, Quota
from incentives.document import PlanDocument, plan_document_dump, plan_document_validate
from incentives.engine import CREDIT_COLUMNS, LINE_COLUMNS, PeriodInputs, Window
from incentives.engine.currency import posted_rate_months
from incentives.models import (
    Adjustment,
    Assignment,
    CalcRun,
    PlanVersion,
    Statement,
    StatementLine,
)
from incentives.selectors_trust import with_acknowledgement
from kpis.models import KpiValue, SubjectKind
from spm.models import FiscalPeriod, Membership, Role, Tenant
from spm.periods import active_days
from spm.reach import Reach

# Credits of the plan year to date with the deal facts lines explain and
# SPIFF rules select on; a deleted deal keeps its credits' ids until the next
# refresh removes them.
_CREDITS_SQL = """
SELECT c.id, c.deal_id, coalesce(d.name, 'deal ' || c.deal_id), c.recipient_id, c.role,
       c.amount, c.credit_date, coalesce(d.deal_type, ''), coalesce(d.product_line, '')
FROM incentives_credit c
LEFT JOIN pipeline_deal d ON d.tenant_id = c.tenant_id AND d.id = c.deal_id
WHERE c.tenant_id = %s AND c.recipient_id = ANY(%s) AND c.credit_date BETWEEN %s AND %s
ORDER BY c.recipient_id, c.credit_date, c.deal_id, c.id
"""


@dataclass
class VersionInputs:
    """A plan version's engine inputs, and what paying its lines needs:
    each member's payout currency and the published lines in another
    currency than the tenant's (``incentives.engine.currency``)."""

    version_id: int
    document: PlanDocument
    inputs: PeriodInputs
    currency_of: dict[int, str]
    paid_foreign: pd.DataFrame


def _window(period: FiscalPeriod) -> Window:
    return Window(period.kind, period.start, period.end, period.label)


def _frame(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(columns))


def _assignments(
    tenant: Tenant, period: FiscalPeriod, members: Sequence[int] | None = None
) -> list[Assignment]:
    assignments = Assignment.objects.filter(tenant=tenant, start_date__lte=period.end).exclude(
        end_date__lt=period.start
    )
    if members is not None:
        assignments = assignments.filter(membership_id__in=members)
    return list(assignments.order_by("version_id", "membership_id"))


def _documents(tenant: Tenant, assignments: Iterable[Assignment]) -> dict[int, PlanDocument]:
    """The validated document of each plan version ``assignments`` use (one
    query, each document read once however many members it has)."""
    sources = PlanVersion.objects.filter(
        tenant=tenant, pk__in={a.version_id for a in assignments}
    ).values_list("pk", "document")
    return {pk: plan_document_validate(document) for pk, document in sources}


def _clawback_reach(period: FiscalPeriod, documents: Iterable[PlanDocument]) -> dt.date:
    """The earliest close date a clawback of this period's plans reaches."""
    days = max((d.clawback_window_days for d in documents), default=0)
    return period.end - dt.timedelta(days=days)


def _plan_periods(tenant: Tenant, period: FiscalPeriod, reach: dt.date) -> list[FiscalPeriod]:
    """The plan year's periods, and the previous plan year's that end on or
    after ``reach`` (a clawback window reaching into it)."""
    return list(
        FiscalPeriod.objects.filter(
            Q(fiscal_year=period.fiscal_year)
            | Q(fiscal_year=period.fiscal_year - 1, end__gte=reach),
            tenant=tenant,
        ).order_by("start", "kind")
    )


def run_reach_start(
    tenant: Tenant, *, period: FiscalPeriod, members: Sequence[int] | None = None
) -> dt.date:
    """The first credit date a run of ``period`` reads: the plan year's start,
    or earlier when a plan's clawback window reaches into the previous year
    (the run refreshes credits from there)."""
    documents = _documents(tenant, _assignments(tenant, period, members))
    reach = _clawback_reach(period, documents.values())
    periods = _plan_periods(tenant, period, reach)
    return min(p.start for p in periods)


def run_inputs(
    tenant: Tenant,
    *,
    period: FiscalPeriod,
    members: Sequence[int] | None = None,
    modelling: Sequence[PlanDocument] | None = None,
) -> list[VersionInputs]:
    """Every plan version with members assigned in ``period`` (only
    ``members`` when given), with the frames the engine reads for it. A fixed
    number of queries, whatever the number of members, deals or versions.

    ``modelling`` (plan modelling: these documents beside the plans in force,
    with no ledger) reads the credits only from the first day the components
    of both measure, not from the start of the plan year or clawback reach."""
    assignments = _assignments(tenant, period, members)
    if not assignments:
        return []
    documents = _documents(tenant, assignments)
    year_periods = _plan_periods(tenant, period, _clawback_reach(period, documents.values()))
    windows = {
        p.kind: _window(p)
        for p in year_periods
        if p.start <= period.end <= p.end and p.fiscal_year == period.fiscal_year
    }
    prior = {
        kind: [_window(p) for p in year_periods if p.kind == kind and p.end < windows[kind].start]
        for kind in windows
    }
    year_starts = sorted({p.start for p in year_periods if p.kind == "year"})
    reach_start = min(p.start for p in year_periods)
    if modelling is not None:
        measured = {c.period for d in [*documents.values(), *modelling] for c in d.components}
        reach_start = min(windows.get(kind, windows["year"]).start for kind in measured)
    year = windows["year"]
    member_ids = [a.membership_id for a in assignments]
    quarter = windows.get("quarter", windows["year"])
    days_in_year = (year.end - year.start).days + 1
    with connection.cursor() as cursor:
        cursor.execute(_CREDITS_SQL, [tenant.pk, member_ids, reach_start, period.end])
        credits = pd.DataFrame(cursor.fetchall(), columns=CREDIT_COLUMNS)
    window_periods = {w.key: p for p in year_periods for w in [_window(p)]}
    keys = [w.key for kind in windows for w in [windows[kind], *prior[kind]]]
    period_ids = [window_periods[k].pk for k in keys]
    key_of = {window_periods[k].pk: k for k in keys}
    quotas = _frame(
        Quota.objects.filter(
            tenant=tenant,
            membership_id__in=member_ids,
            period_id__in=period_ids,
            measure=Measure.BOOKINGS,
        ).values("membership_id", "period_id", "amount"),
        ["membership_id", "period_id", "amount"],
    )
    quotas = pd.DataFrame(
        {
            "member_id": quotas["membership_id"],
            "window": quotas["period_id"].map(key_of),
            "amount": quotas["amount"],
        }
    )
    kpi_values = _frame(
        KpiValue.objects.filter(
            tenant=tenant,
            subject_kind=SubjectKind.MEMBER,
            subject_id__in=member_ids,
            period_id__in=period_ids,
        ).values("subject_id", "period_id", "kpi", "value"),
        ["subject_id", "period_id", "kpi", "value"],
    )
    kpi_values = pd.DataFrame(
        {
            "member_id": kpi_values["subject_id"],
            "window": kpi_values["period_id"].map(key_of),
            "kpi": kpi_values["kpi"],
            "value": kpi_values["value"],
        }
    )
    team_attainment = _frame(
        KpiValue.objects.filter(
            tenant=tenant,
            subject_kind=SubjectKind.TEAM,
            kpi="attainment",
            period_id__in=period_ids,
        ).values("subject_id", "period_id", "value"),
        ["subject_id", "period_id", "value"],
    )
    objectives = _frame(
        Objective.objects.filter(
            tenant=tenant,
            membership_id__in=member_ids,
            period_id__in=period_ids,
            scores__isnull=False,
        ).values("membership_id", "period_id", "weight", "scores__score"),
        ["membership_id", "period_id", "weight", "scores__score"],
    )
    objectives = pd.DataFrame(
        {
            "member_id": objectives["membership_id"],
            "window": objectives["period_id"].map(key_of),
            "weight": objectives["weight"],
            "score": objectives["scores__score"],
        }
    )
    posted, paid_foreign = _posted(
        tenant, period=period, member_ids=member_ids, since=min(year_starts)
    )
    adjustments = _frame(
        Adjustment.objects.filter(tenant=tenant, period=period).values(
            "membership_id", "id", "amount", "reason"
        ),
        ["membership_id", "id", "amount", "reason"],
    ).rename(columns={"membership_id": "member_id", "id": "adjustment_id"})
    owed = dict(
        Statement.objects.filter(
            tenant=tenant,
            run__status=CalcRun.Status.PUBLISHED,
            period__kind=period.kind,
            period__end__lt=period.start,
            membership_id__in=member_ids,
        )
        .order_by("membership_id", "-period__end")
        .distinct("membership_id")
        .values_list("membership_id", "draw_owed")
    )
    member_team = _frame(
        Assignment.objects.filter(pk__in=[a.pk for a in assignments]).values(
            "membership_id", "membership__team_id"
        ),
        ["membership_id", "membership__team_id"],
    )
    team_att = member_team.merge(
        team_attainment, left_on="membership__team_id", right_on="subject_id"
    )
    team_frame = pd.DataFrame(
        {
            "member_id": team_att["membership_id"],
            "window": team_att["period_id"].map(key_of),
            "attainment": team_att["value"],
        }
    )
    out = []
    by_version: dict[int, list[Assignment]] = {}
    for assignment in assignments:  # grouping rows already loaded, no queries
        by_version.setdefault(assignment.version_id, []).append(assignment)
    for version_id, group in by_version.items():  # one per plan version: a handful
        ids = [a.membership_id for a in group]
        members = pd.DataFrame(
            {
                "member_id": ids,
                "target_incentive": [
                    a.target_incentive
                    * active_days(quarter.start, period.end, a.start_date, a.end_date)
                    / days_in_year
                    for a in group
                ],
                "owed": [owed.get(a.membership_id, Decimal("0.00")) for a in group],
            }
        )
        document = documents[version_id]
        out.append(
            VersionInputs(
                version_id=version_id,
                document=document,
                currency_of={a.membership_id: a.payout_currency or tenant.currency for a in group},
                paid_foreign=paid_foreign[paid_foreign["member_id"].isin(ids)],
                inputs=PeriodInputs(
                    period=_window(period),
                    windows=windows,
                    prior_windows=prior,
                    members=members,
                    credits=credits,
                    quotas=quotas,
                    team_attainment=team_frame,
                    kpi_values=kpi_values,
                    objectives=objectives,
                    posted=posted,
                    year_starts=year_starts,
                    adjustments=adjustments,
                ),
            )
        )
    return out


_PAID_COLUMNS = ["statement__currency", "base_amount", "fx_rate", "period__end"]


def _posted(
    tenant: Tenant, *, period: FiscalPeriod, member_ids: list[int], since: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published lines of periods from ``since`` (the plan year's start, or
    the previous year's when a clawback reaches into it) to before
    ``period``: the engine's frame
    (amounts in the tenant's currency) and the lines paid in another currency
    with their rate month (for rate adjustments)."""
    columns = [c for c in LINE_COLUMNS if c not in ("member_id", "amount")]
    rows = _frame(
        StatementLine.objects.filter(
            tenant=tenant,
            statement__run__status=CalcRun.Status.PUBLISHED,
            period__start__gte=since,
            period__start__lt=period.start,
            statement__membership_id__in=member_ids,
        ).values("statement__membership_id", "amount", *columns, *_PAID_COLUMNS),
        ["statement__membership_id", "amount", *columns, *_PAID_COLUMNS],
    ).rename(
        columns={
            "statement__membership_id": "member_id",
            "statement__currency": "currency",
            "period__end": "period_end",
        }
    )
    rows = rows.astype(object).where(rows.notna(), None)
    engine = rows.drop(columns="amount").rename(columns={"base_amount": "amount"})[LINE_COLUMNS]
    foreign = rows[rows["currency"] != tenant.currency].copy()
    foreign["rate_month"] = posted_rate_months(foreign) if not foreign.empty else None
    return engine, foreign


def members_without_plan(tenant: Tenant, *, period: FiscalPeriod) -> list[int]:
    """Ids of active reps and managers with no assignment in ``period``."""
    assigned = (
        Assignment.objects.filter(tenant=tenant, start_date__lte=period.end)
        .exclude(end_date__lt=period.start)
        .values("membership_id")
    )
    return list(
        Membership.objects.filter(
            tenant=tenant, role__in=[Role.REP, Role.MANAGER], start_date__lte=period.end
        )
        .exclude(end_date__lt=period.start)
        .exclude(pk__in=assigned)
        .values_list("pk", flat=True)
        .order_by("pk")
    )


def statements_visible(tenant: Tenant, *, reach: Reach) -> QuerySet[Statement]:
    """Statements of current previews and published runs within ``reach``
    (``spm.reach.Reach.statements``)."""
    return Statement.objects.filter(
        reach.statements(),
        tenant=tenant,
        run__status__in=[CalcRun.Status.PREVIEW, CalcRun.Status.PUBLISHED],
    )


# Pages ---------------------------------------------------------------------------------


def totals_by_currency(amounts: Iterable[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """Sums per currency, in currency order (statements in several payout currencies)."""
    sums: dict[str, Decimal] = {}
    for currency, amount in amounts:  # a period's loaded statements
        sums[currency] = sums.get(currency, Decimal("0.00")) + amount
    return sorted(sums.items())


@dataclass(frozen=True)
class PeriodStatements:
    """The statements of one period as finance reviews them."""

    run: CalcRun | None
    newer_preview: CalcRun | None
    statements: list[Statement]
    totals: list[tuple[str, Decimal]]  # (currency, sum), members are paid in several
    without_plan: list[Membership]
    negative: list[Statement]
    capped: list[Statement]


def period_statements(tenant: Tenant, *, reach: Reach, period: FiscalPeriod) -> PeriodStatements:
    """The period's statements within ``reach``: the published run's, or the
    current preview's when none is published, each with ``capped`` (a cap
    line applied); the exceptions (members with no plan, for readers of
    everything; negative totals or a draw owed; capped). Five queries."""
    runs = list(
        CalcRun.objects.filter(
            tenant=tenant,
            period=period,
            status__in=[CalcRun.Status.PUBLISHED, CalcRun.Status.PREVIEW],
        ).order_by("-created_at", "-id")
    )
    published = next((r for r in runs if r.status == CalcRun.Status.PUBLISHED), None)
    preview = next((r for r in runs if r.status == CalcRun.Status.PREVIEW), None)
    run = published or preview
    statements: list[Statement] = []
    if run is not None:
        capped = StatementLine.objects.filter(tenant=tenant, statement=OuterRef("pk"), kind="cap")
        statements = list(
            with_acknowledgement(tenant, statements_visible(tenant, reach=reach).filter(run=run))
            .annotate(capped=Exists(capped))
            .select_related("membership__user", "membership__team", "version__plan")
            .order_by("membership__user__last_name", "membership__user__first_name", "id")
        )
    without_plan: list[Membership] = []
    if reach.reads_all:
        without_plan = list(
            Membership.objects.filter(
                tenant=tenant, pk__in=members_without_plan(tenant, period=period)
            )
            .select_related("user", "team")
            .order_by("user__last_name", "user__first_name")
        )
    return PeriodStatements(
        run=run,
        newer_preview=preview
        if published and preview and preview.created_at > published.created_at
        else None,
        statements=statements,
        totals=totals_by_currency((s.currency, s.total) for s in statements),
        without_plan=without_plan,
        negative=[s for s in statements if s.total < 0 or s.draw_owed > 0],
        capped=[s for s in statements if getattr(s, "capped", False)],
    )


@dataclass(frozen=True)
class CompareRow:
    member: Membership
    currency: str  # the member's payout currency
    total: Decimal | None
    baseline: Decimal | None

    @property
    def difference(self) -> Decimal:
        return (self.total or Decimal("0.00")) - (self.baseline or Decimal("0.00"))


@dataclass(frozen=True)
class RunComparison:
    baseline: CalcRun | None
    rows: list[CompareRow]
    totals: list[tuple[str, Decimal]]  # per currency
    baseline_totals: list[tuple[str, Decimal]]


def run_compare(tenant: Tenant, *, run: CalcRun) -> RunComparison:
    """``run``'s statement totals beside the last published run's: the same
    period's when one is published, else the latest published run of the
    same kind of period before it. One row per member of either. Three queries."""
    published = CalcRun.objects.filter(
        tenant=tenant, status=CalcRun.Status.PUBLISHED, period__kind=run.period.kind
    ).exclude(pk=run.pk)
    baseline = (
        published.filter(period=run.period).first()
        or published.filter(period__end__lt=run.period.start)
        .order_by("-period__end", "-published_at")
        .first()
    )
    runs = [run.pk] + ([baseline.pk] if baseline else [])
    statements = Statement.objects.filter(tenant=tenant, run_id__in=runs).select_related(
        "membership__user"
    )
    now: dict[int, Decimal] = {}
    before: dict[int, Decimal] = {}
    members: dict[int, Membership] = {}
    currency: dict[int, str] = {}
    for statement in statements:  # two runs' statements, already loaded
        members[statement.membership_id] = statement.membership
        currency[statement.membership_id] = statement.currency
        (now if statement.run_id == run.pk else before)[statement.membership_id] = statement.total
    rows = [
        CompareRow(
            member=members[pk], currency=currency[pk], total=now.get(pk), baseline=before.get(pk)
        )
        for pk in sorted(members, key=lambda pk: members[pk].display_name)
    ]
    return RunComparison(
        baseline=baseline,
        rows=rows,
        totals=totals_by_currency((currency[pk], amount) for pk, amount in now.items()),
        baseline_totals=totals_by_currency((currency[pk], amount) for pk, amount in before.items()),
    )


def commission_to_date(
    tenant: Tenant, *, membership: Membership, year: FiscalPeriod
) -> list[tuple[FiscalPeriod, Decimal]]:
    """The member's published statement totals of the fiscal ``year``, by
    period in date order (one query)."""
    statements = (
        Statement.objects.filter(
            tenant=tenant,
            membership=membership,
            run__status=CalcRun.Status.PUBLISHED,
            period__start__gte=year.start,
            period__end__lte=year.end,
        )
        .select_related("period")
        .order_by("period__end", "period__kind")
    )
    return [(s.period, s.total) for s in statements]


def assignments_in(tenant: Tenant, *, period: FiscalPeriod) -> QuerySet[Assignment]:
    """Assignments overlapping ``period`` with their member and plan."""
    return (
        Assignment.objects.filter(tenant=tenant, start_date__lte=period.end)
        .exclude(end_date__lt=period.start)
        .select_related("membership__user", "membership__team", "version__plan")
        .order_by("membership__user__last_name", "membership__user__first_name", "start_date")
    )


def assignment_current(
    tenant: Tenant, *, membership: Membership, day: dt.date
) -> Assignment | None:
    """The member's assignment on ``day``; else their next one, else their
    last one (one query over the member's few assignments)."""
    assignments = list(
        Assignment.objects.filter(tenant=tenant, membership=membership)
        .select_related("version__plan")
        .order_by("start_date")
    )
    covering = [
        a for a in assignments if a.start_date <= day and (a.end_date is None or a.end_date >= day)
    ]
    later = [a for a in assignments if a.start_date > day]
    return (covering or later or assignments[-1:] or [None])[0]


def plan_version_diff(older: PlanVersion, newer: PlanVersion) -> list[tuple[str, str]]:
    """The two versions' documents as YAML, line by line: ("+", line) added in
    ``newer``, ("-", line) removed, ("@", header) a new hunk, (" ", line) context."""

    def text(version: PlanVersion) -> list[str]:
        return plan_document_dump(plan_document_validate(version.document)).splitlines()

    diff = difflib.unified_diff(text(older), text(newer), f"{older}", f"{newer}", lineterm="", n=3)
    return [(line[0], line[1:] if line[0] != "@" else line) for line in list(diff)[2:]]
